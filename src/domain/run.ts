/**
 * Workflow recipient runs as the engine sees them: the run, its state between steps, the events it
 * records and what one advance produces. Plain types; the store maps them to rows.
 */

import type { TraceContext } from '../telemetry/port.js';

/** A recipient run: the unit of work a worker claims. */
export interface RunRow {
  id: string;
  workflow_run_id: string;
  workflow_key: string;
  workflow_sha: string;
  recipient_collection: string;
  recipient_id: string;
  actor: { id: string; collection: string } | null;
  tenant_id: string | null;
  cancellation_key: string | null;
  data: Record<string, unknown>;
  status: 'queued' | 'processing' | 'paused' | 'completed' | 'cancelled';
  position: number;
  state: RunState;
  error_count: number;
  attempts: number;
  wake_at: Date | null;
  lease_owner: string | null;
  /** Where the run came from; null = the API. */
  source: TriggerSource | null;
  inserted_at: Date;
  updated_at: Date;
}

/** Knock's trigger_source, minus the cancellation key (a run column of its own). */
export interface TriggerSource {
  type: 'api' | 'schedule' | 'workflow_step' | 'audience' | 'broadcast' | 'integration';
  schedule_id?: string;
  audience_key?: string;
  /** For `workflow_step`: the parent run and step. */
  parent_recipient_run_id?: string;
  step_ref?: string;
  /** For `workflow_step`: how many trigger_workflow steps led here (1 = the parent was triggered otherwise). */
  depth?: number;
}

/** Batch variables after a flush (knock-api.md §5.4). */
export interface BatchResult {
  batch_id: string | null;
  total_activities: number;
  total_actors: number;
  actors: { collection: string; id: string }[];
  activities: { id: string; actor: { collection: string; id: string } | null; data: Record<string, unknown>; inserted_at: string }[];
}

/** The subscription that made a run's recipient one (object fan-out), for `recipient.subscription`. */
export interface RunSubscription {
  object: { collection: string; id: string };
  properties: Record<string, unknown> | null;
}

export interface RunState {
  /**
   * The delay the run is paused on, so its completion is recorded when the run next advances;
   * `fired_at` once the timer loop has queued the run again (store/timers.ts), for its lateness.
   */
  waiting?: { step_ref: string; until: string; fired_at?: string };
  /** Trigger settings the steps need (sandbox, skip_delay). */
  settings?: { sandbox_mode?: boolean; skip_delay?: boolean };
  started?: boolean;
  /** Set on runs a fan-out created. */
  subscription?: RunSubscription;
  /** The batch this run waits in (batch step), until it is flushed. */
  batch?: { batch_id: string; step_ref: string; rechecks?: number };
  /** What the batch this run carries on holds, for the steps after it (bounded by the render limit). */
  batch_result?: BatchResult;
  /** Consecutive failures of the step at `position`, for Knock's 3-attempt limit. */
  failures?: { step_ref: string; count: number };
  /** Failed attempts of the http_fetch step being retried (after 30 s, then 60 s); cleared when it ends. */
  fetch_attempts?: { step_ref: string; count: number };
  /** The wait_for_event step the run is paused on (indexed, migrations/010); `matched` = the event that woke it. */
  event_wait?: { step_ref: string; event: string; expires_at: string; match_conditions?: unknown; matched?: ReceivedEvent };
}

/** An event delivered by `POST /v1/workflow_events`, as a waiting run records it. */
export interface ReceivedEvent {
  event: string;
  data: Record<string, unknown>;
  received_at: string;
}

export interface NewTrigger {
  id: string;
  workflowKey: string;
  workflowSha: string;
  actor: { id: string; collection: string } | null;
  tenantId: string | null;
  data: Record<string, unknown>;
  cancellationKey: string | null;
  settings: Record<string, unknown>;
  /** null = the API. */
  source: TriggerSource | null;
  now: Date;
}

export interface NewRun {
  id: string;
  recipient_collection: string;
  recipient_id: string;
  data: Record<string, unknown>;
}

export interface RunEvent {
  id: string;
  recipient_run_id: string;
  event: string;
  status?: 'ok' | 'error';
  step_ref?: string | null;
  step_type?: string | null;
  attempt?: number | null;
  data?: Record<string, unknown> | null;
  inserted_at: Date;
}

/** Where one advance of a run ended, with what it produced. */
export interface RunOutcome {
  runId: string;
  status: 'queued' | 'processing' | 'paused' | 'completed' | 'cancelled';
  position: number;
  state: RunState;
  wakeAt: Date | null;
  errorCount?: number;
  events: RunEvent[];
  messages: NewMessage[];
  /** The run's data from now on, when a step changed it (fetch, update_data). */
  data?: Record<string, unknown>;
  /** Writes committed with the checkpoint, only if the run's update commits. */
  effects?: RunEffect[];
}

/** A write a step asks for, applied in the run's checkpoint transaction. */
export type RunEffect =
  | { type: 'merge_entity'; key: { collection: string; id: string }; properties: Record<string, unknown> }
  | {
    type: 'trigger'; trigger: NewTrigger; runs: NewRun[]; fanOut: { collection: string; id: string }[]; state: RunState;
    /** The W3C trace context of the run that triggered it (tracing on): the child runs continue that trace. */
    traceContext?: TraceContext | null;
  };

export interface NewMessage {
  /** 27-char KSUID, time-ordered; see `newMessageId`. */
  id: string;
  channelId: string;
  recipient: { collection: string; id: string };
  workflowKey: string;
  workflowSha: string;
  categories: string[];
  workflowRunId: string;
  recipientRunId: string;
  stepRef: string;
  tenantId: string | null;
  actors: unknown[];
  status: string;
  data: Record<string, unknown>;
  content: Record<string, unknown>;
  /** Set when the message follows a batch step. */
  batchId?: string | null;
  totalActivities?: number | null;
  totalActors?: number | null;
  /** message_events rows to write with it, e.g. ['message.queued', 'message.delivered']. */
  eventTypes: string[];
  /** The checkpoint also creates its delivery job (email and other provider channels). */
  deliver?: boolean;
  insertedAt: Date;
}


/** Which runs a cancel request stops. */
export interface CancelMatch {
  workflowKey: string;
  cancellationKey: string;
  /** null = every recipient. */
  recipients: { collection: string; id: string }[] | null;
}
