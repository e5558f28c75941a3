import type { RecipientReference, RecipientRequest } from '../domain/recipients.js';

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

/** What the API asks of the engine. The engine owns runs; the API only translates HTTP. */
export interface Engine {
  trigger(workflowKey: string, request: TriggerRequest, opts: { idempotencyKey?: string; requestId?: string }): Promise<TriggerOutcome>;
  /** Cancels matching unfinished runs synchronously; returns how many were cancelled. */
  cancel(workflowKey: string, request: CancelRequest): Promise<number>;
}
