import type { TraceContext } from '../telemetry/port.js';
import type { EntityKey } from '../domain/recipients.js';
import type { PausedStart } from './paused-start.js';
import type { CancelMatch, NewRun, NewTrigger, ReceivedEvent, RunOutcome, RunRow, RunState } from '../domain/run.js';
import type { FanoutPage, NewFanoutRun } from '../domain/fanout.js';
import type { WorkflowDefinition } from '../domain/workflow.js';
import type { TemplateContent } from '../templates/content.js';

/**
 * What the engine needs from storage. The engine owns this interface and knows no SQL; the store
 * implements it (src/store/engine-store.ts) over PostgreSQL or PGlite.
 */
export interface EngineStore {
  /** The current version of a workflow and whether it is active. */
  workflowHead(key: string): Promise<{ sha: string; active: boolean } | null>;
  /** A workflow version's definition (versions are immutable). */
  workflowVersion(sha: string): Promise<WorkflowDefinition | null>;
  entityExists(key: EntityKey): Promise<boolean>;
  /** Custom properties of the given entities, keyed by `collection\0id`. */
  entityProperties(keys: EntityKey[]): Promise<Map<string, Record<string, unknown>>>;
  channelByKey(key: string): Promise<ChannelInfo | null>;
  /** A configured channel group (ordered channel keys). */
  channelGroup(key: string): Promise<{ key: string; mode: 'all' | 'first'; channel_keys: string[] } | null>;
  /** A configured email layout. */
  emailLayout(key: string): Promise<EmailLayout | null>;
  /** The environment's committed partials and translations (kept live in the process: cheap to call per render). */
  templateContent(): Promise<TemplateContent>;
  /** One recipient's data for one channel (push tokens, chat connections), null when none. */
  channelData(recipient: EntityKey, channelId: string): Promise<Record<string, unknown> | null>;
  /**
   * Every preference set of the given entities and the environment default set, read together in
   * one round trip (never cached, so a change is seen by the next step in any process).
   */
  preferenceSets(keys: EntityKey[]): Promise<PreferenceSets>;

  findIdempotencyRecord(key: string, now: Date): Promise<IdempotencyRecord | null>;
  /**
   * Commits a group of triggers in one transaction (group commit), each atomically: its trigger
   * and runs (only if the workflow is still active at `trigger.workflowSha`), fan-out jobs,
   * idempotency record and inline identifications. One result per write, in order: a stale
   * workflow, a taken Idempotency-Key or an invalid inline entity concerns only that write (it
   * writes nothing, the others commit). Throws (for the whole group) only when the group as a
   * whole failed, e.g. CommitOutcomeUnknown. Writes in one group must not share an
   * Idempotency-Key.
   */
  writeTriggers(writes: TriggerWrite[]): Promise<TriggerWriteResult[]>;
  /** How many trigger groups the store writes at once (a single-connection store: 1). */
  readonly triggerWriters: number;

  /**
   * Cancels matching unfinished runs and records the request, atomically; returns how many runs it cancelled.
   * With `idempotency`, its record is claimed in the same transaction, whose response is made
   * from the count; 'idempotency_taken' (nothing changed) when a concurrent request holds the key.
   */
  cancelRuns(match: CancelMatch, now: Date, cancelledEventData: Record<string, unknown>,
    idempotency?: { record: (cancelled: number) => IdempotencyRecord; expiresAt: Date }): Promise<number | 'idempotency_taken'>;
  /**
   * Counts a throttle step's execution in its window; false = over the limit. Idempotent per
   * (run, step), and serialised per window so concurrent runs never exceed the limit.
   */
  throttle(hit: { scopeKey: string; runId: string; stepRef: string; windowMs: number; limit: number; now: Date }): Promise<boolean>;
  /** Adds a run to the open batch for its key (opening it); idempotent per (run, step). */
  joinBatch(join: BatchJoin): Promise<BatchMembership>;
  getBatch(id: string): Promise<{ status: 'open' | 'closing' | 'closed'; closes_at: Date; continued_run_id: string | null } | null>;
  /** A flushed batch's included activities: the total, unique actors and up to `limit` of them. */
  batchActivities(id: string, order: 'asc' | 'desc', limit: number): Promise<BatchContents>;
  /** Commits the outcomes of claimed runs still held by `owner`; returns the committed run ids. */
  checkpointRuns(owner: string, outcomes: RunOutcome[], now: Date): Promise<string[]>;
  /**
   * A fan-out page to plan, leased to `owner` until `leaseUntil`: one whose lease ended, else the
   * next page of the oldest pending fan-out; null when there is none.
   */
  claimFanoutPage(owner: string, pageSize: number, now: Date, leaseUntil: Date): Promise<FanoutPage | null>;
  /**
   * Creates a page's runs (with the messages and events of those `outcomes` advanced), only
   * while `owner`'s lease on the page holds; returns the ids of the runs created that are not
   * cancelled, or null when the page no longer holds.
   */
  commitFanoutPage(owner: string, page: FanoutPage, runs: NewFanoutRun[], outcomes: RunOutcome[], now: Date): Promise<string[] | null>;
  /** Gives a page back at once after its planning or commit failed here. */
  releaseFanoutPage(owner: string, page: FanoutPage): Promise<void>;
  /** A page of runs paused on a wait_for_event for this event (not expired, not matched yet). */
  waitingRuns(query: WaitingRunsQuery): Promise<RunRow[]>;
  /** Hands `received` to runs still paused on the same wait and makes them due; returns the ids woken. */
  wakeWaitingRuns(runs: { runId: string; position: number }[], received: ReceivedEvent, now: Date): Promise<string[]>;
  /** The messages the given runs' channel steps created so far, in one query (message-status conditions). */
  runMessages(runIds: string[]): Promise<RunMessageStatus[]>;
  /**
   * Claims the trigger-frequency marker for (workflow, recipient, tenant key) for `runId` unless
   * another run holds it; returns the run that holds it (this one after a successful claim).
   */
  claimTriggerFrequency(claim: TriggerFrequencyClaim): Promise<string>;
}

export interface RunMessageStatus {
  recipient_run_id: string;
  step_ref: string;
  message_id: string;
  status: string;
  engagement_statuses: string[];
}

export interface TriggerFrequencyClaim {
  workflowKey: string;
  recipient: EntityKey;
  /** '' for `once_per_recipient` (any tenant) and for runs without a tenant. */
  tenantKey: string;
  runId: string;
  now: Date;
}

export interface WaitingRunsQuery {
  event: string;
  /** null = runs of every recipient. */
  recipient: EntityKey | null;
  tenantId: string | null;
  now: Date;
  /** Keyset cursor: the last run of the previous page. */
  after: { collection: string; id: string; runId: string } | null;
  limit: number;
}

export interface BatchJoin {
  runId: string;
  stepRef: string;
  workflowKey: string;
  recipient: EntityKey;
  tenantKey: string;
  batchKey: string;
  actor: EntityKey | null;
  data: Record<string, unknown>;
  now: Date;
  closesAt: Date;
  windowType: 'fixed' | 'sliding';
  windowMs: number | null;
  extensionLimitAt: Date | null;
  maxItems: number | null;
  executionMode: 'accumulate' | 'flush_leading';
}

export interface BatchMembership {
  batchId: string;
  leading: boolean;
  closesAt: Date;
}

export interface BatchContents {
  total: number;
  actors: EntityKey[];
  activities: { recipient_run_id: string; actor: EntityKey | null; data: Record<string, unknown>; inserted_at: Date }[];
  mergedData: Record<string, unknown>[];
}

export interface PreferenceSets {
  /** Entity key (`collection\0id`) -> set id ('default' or a tenant id) -> set. */
  byEntity: Map<string, Map<string, Record<string, unknown>>>;
  /** The environment default set (knock-api.md §5.11), null when none is stored. */
  environmentDefault: Record<string, unknown> | null;
}

export interface ChannelInfo {
  id: string;
  key: string;
  type: string;
  /** Provider settings: channel steps read only non-secret defaults (email `from`, `reply_to`). */
  settings?: Record<string, unknown>;
}

export interface EmailLayout {
  key: string;
  html_layout: string | null;
  text_layout: string | null;
}

export interface IdempotencyRecord {
  key: string;
  request_hash: string;
  status_code: number;
  response: unknown;
  request_id: string | null;
}

export interface TriggerWrite {
  trigger: NewTrigger;
  runs: NewRun[];
  /** Object recipients whose subscribers are reached by a fan-out job committed with the trigger. */
  fanOut: EntityKey[];
  state: RunState;
  /** Inline users, objects, tenants and actors to upsert (merge) first. */
  identify: { key: EntityKey; properties: Record<string, unknown> }[];
  idempotency?: { record: IdempotencyRecord; expiresAt: Date };
  now: Date;
  /** Set when the runs start paused on the workflow's first delay (paused-start.ts). */
  start?: PausedStart;
  /**
   * The W3C trace context of the span the trigger was accepted in (tracing on only), stored with
   * the trigger so its runs and deliveries continue the trace in whichever process takes them.
   */
  traceContext?: TraceContext | null;
}

/** What became of one trigger of a group: `error` = refused on its own (e.g. an invalid inline entity). */
export type TriggerWriteResult = 'written' | 'stale_workflow' | 'idempotency_taken' | { error: unknown };

export const entityMapKey = (k: EntityKey) => `${k.collection}\u0000${k.id}`;
