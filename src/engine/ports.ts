import type { EntityKey } from '../domain/recipients.js';
import type { CancelMatch, NewRun, NewTrigger, RunEvent, RunOutcome, RunState } from '../domain/run.js';
import type { WorkflowDefinition } from '../domain/workflow.js';

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
  /** Every preference set of the given entities: entity key (`collection\0id`) -> set id -> set. */
  preferenceSets(keys: EntityKey[]): Promise<Map<string, Map<string, Record<string, unknown>>>>;

  findIdempotencyRecord(key: string, now: Date): Promise<IdempotencyRecord | null>;
  /**
   * Commits a trigger atomically: inline identifications, the trigger and its runs (only if the
   * workflow is still active at `trigger.workflowSha`), and the idempotency record.
   */
  writeTrigger(write: TriggerWrite): Promise<'written' | 'stale_workflow' | 'idempotency_taken'>;

  /** Cancels matching unfinished runs and records the request, atomically; returns the run ids. */
  cancelRuns(match: CancelMatch, now: Date, eventsFor: (runIds: string[]) => RunEvent[]): Promise<string[]>;
  /**
   * Counts a throttle step's execution in its window; false = over the limit. Idempotent per
   * (run, step), and serialised per window so concurrent runs never exceed the limit.
   */
  throttle(hit: { scopeKey: string; runId: string; stepRef: string; windowMs: number; limit: number; now: Date }): Promise<boolean>;
  /** Commits the outcomes of claimed runs still held by `owner`; returns the committed run ids. */
  checkpointRuns(owner: string, outcomes: RunOutcome[], now: Date): Promise<string[]>;
}

export interface ChannelInfo {
  id: string;
  key: string;
  type: string;
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
}

export const entityMapKey = (k: EntityKey) => `${k.collection}\u0000${k.id}`;
