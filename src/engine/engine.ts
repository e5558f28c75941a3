import type { EmailTracking } from '../tracking/port.js';
import type { RecipientReference, RecipientRequest } from '../domain/recipients.js';
import type { TriggerSource } from '../domain/run.js';

export interface TriggerRequest {
  recipients: RecipientRequest[];
  actor?: RecipientRequest | null;
  data?: Record<string, unknown> | null;
  tenant?: string | ({ id: string } & Record<string, unknown>) | null;
  cancellation_key?: string | null;
  settings?: { sandbox_mode?: boolean; skip_delay?: boolean } | null;
}

export interface TriggerOutcome {
  status: number;
  body: { workflow_run_id: string };
  /** True when an earlier response was replayed for the same Idempotency-Key. */
  replayed: boolean;
  originalRequestId?: string;
}

export interface CancelRequest {
  cancellation_key: string;
  recipients?: RecipientReference[] | null;
}

export interface CancelOptions {
  idempotencyKey?: string;
  requestId?: string;
}

export interface CancelOutcome {
  /** How many runs this cancel stopped (a replay answers the first request's count). */
  cancelled: number;
  /** True when an earlier answer was replayed for the same Idempotency-Key. */
  replayed: boolean;
  originalRequestId?: string;
}

export interface TriggerOptions {
  idempotencyKey?: string;
  requestId?: string;
  /** Where the trigger comes from; default the API. */
  source?: TriggerSource;
  /**
   * Whether object recipients fan out to their subscribers (default true). Schedules for
   * object recipients do not fan out (knock-api.md §5.15).
   */
  fanOut?: boolean;
}

/** `POST /v1/workflow_events` (a Herald extension: Knock has no public endpoint for it). */
export interface WorkflowEventRequest {
  event: string;
  /** Only runs of this recipient; absent = every run waiting for the event. */
  recipient?: RecipientReference | null;
  /** Only runs of this tenant. */
  tenant?: string | null;
  data?: Record<string, unknown> | null;
}

/** What the API asks of the engine. The engine owns runs; the API only translates HTTP. */
export interface Engine {
  trigger(workflowKey: string, request: TriggerRequest, opts: TriggerOptions): Promise<TriggerOutcome>;
  /** Cancels matching unfinished runs synchronously; a retry with the same Idempotency-Key replays the answer. */
  cancel(workflowKey: string, request: CancelRequest, opts?: CancelOptions): Promise<CancelOutcome>;
  /** Wakes the runs waiting (wait_for_event) for this event whose match conditions hold; returns how many. */
  deliverEvent(request: WorkflowEventRequest): Promise<number>;
  /**
   * Email link/open tracking for the messages this engine creates, when the composition did not
   * pass one to createEngine (the tracking routes hand theirs over; an engine keeps the first).
   */
  useEmailTracking?(tracking: EmailTracking): void;
}
