/*
 * SQL that writes a trigger: the trigger row, its recipient runs and its fan-out jobs.
 */
import type { Db, Queryable } from './db.js';
import { HeraldError } from '../domain/errors.js';
import type { EntityKey } from '../domain/recipients.js';
import type { NewRun, NewTrigger, RunState } from '../domain/run.js';
import type { IdempotencyRecord, TriggerWrite, TriggerWriteResult } from '../engine/ports.js';
import type { PausedStart } from '../engine/paused-start.js';
import type { TraceContext } from '../telemetry/port.js';
import { identifyInline } from './entities.js';
import { sweepExpiredKeys } from './idempotency.js';

/**
 * Inserts the trigger row, all its recipient runs and the fan-out jobs of its object recipients
 * in ONE statement: atomic on its own and one round trip whatever the fan-out (runs come in as
 * a JSON array). Nothing is inserted unless the workflow is still active at version
 * `workflowSha`; returns false in that case. A fan-out row is written only for objects that have
 * subscribers (checked by the subscriptions primary key).
 */
export async function insertTriggerWithRuns(
  q: Queryable, t: NewTrigger, runs: NewRun[], state: RunState, fanOut: EntityKey[] = [], traceContext: TraceContext | null = null,
): Promise<boolean> {
  const rows = await q.query<{ triggers: number }>(
    `WITH t AS (
       INSERT INTO workflow_triggers (id, workflow_key, workflow_sha, actor, tenant_id, data, cancellation_key, settings, source, trace_context, inserted_at)
       SELECT $1, $2, $3, $4, $5, $10, $6, $11, COALESCE($12::jsonb, '{"type":"api"}'), $14::jsonb, $8
        WHERE EXISTS (SELECT 1 FROM workflows WHERE key = $2 AND sha = $3 AND active)
       RETURNING id
     ), r AS (
       INSERT INTO recipient_runs (id, workflow_run_id, workflow_key, workflow_sha, recipient_collection, recipient_id,
                                   actor, tenant_id, cancellation_key, data, status, position, state, source, wake_at, inserted_at, updated_at)
       SELECT x.id, t.id, $2, $3, x.recipient_collection, x.recipient_id, $4, $5, $6, x.data, 'queued', 0, $7, $12::jsonb, $8, $8, $8
         FROM t CROSS JOIN jsonb_to_recordset($9::jsonb) AS x(id uuid, recipient_collection text, recipient_id text, data jsonb)
       RETURNING 1
     ), f AS (
       INSERT INTO fanouts (id, workflow_run_id, workflow_key, cancellation_key, object_collection, object_id, depth, status, inserted_at, updated_at)
       SELECT gen_random_uuid(), t.id, $2, $6, o.collection, o.id, 1, 'pending', $8, $8
         FROM t CROSS JOIN jsonb_to_recordset($13::jsonb) AS o(collection text, id text)
        WHERE EXISTS (SELECT 1 FROM subscriptions s WHERE s.object_collection = o.collection AND s.object_id = o.id)
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM t)::int AS triggers, (SELECT count(*) FROM r)::int AS runs, (SELECT count(*) FROM f)::int AS fanouts`,
    [t.id, t.workflowKey, t.workflowSha, t.actor ? JSON.stringify(t.actor) : null, t.tenantId, t.cancellationKey,
      JSON.stringify(state), t.now, JSON.stringify(runs), JSON.stringify(t.data), JSON.stringify(t.settings),
      t.source ? JSON.stringify(t.source) : null, JSON.stringify(fanOut), traceContext ? JSON.stringify(traceContext) : null],
  );
  return rows[0]?.triggers === 1;
}

/** One trigger of a group, as `insertTriggerGroup` writes it. */
export interface GroupedTrigger {
  trigger: NewTrigger;
  runs: NewRun[];
  fanOut: EntityKey[];
  state: RunState;
  idempotency?: { record: IdempotencyRecord; expiresAt: Date };
  /** The runs start paused on the workflow's first delay. */
  start?: PausedStart;
  /** W3C trace context stored with the trigger (tracing on only). */
  traceContext?: TraceContext | null;
}

/** Per trigger of a group: whether its workflow version was active, and whether it was written. */
export interface GroupedTriggerResult { active: boolean; written: boolean }

/**
 * Writes a group of triggers with ONE statement whatever its size (group commit): the idempotency
 * records, the trigger rows, all their runs and fan-out jobs. Each trigger is decided on its own
 * row: nothing of it is written unless its workflow is still active at its version, and (with an
 * Idempotency-Key) unless its key was free — `ON CONFLICT DO NOTHING RETURNING` says which keys
 * this statement claimed, and waits for a concurrent uncommitted holder of the same key. The
 * caller keeps duplicate keys out of one group (only one of them could be told apart here).
 * Prepared: every parameter is a JSON document, so the generic plan is the custom plan.
 */
export async function insertTriggerGroup(q: Queryable, group: GroupedTrigger[], commits = false): Promise<GroupedTriggerResult[]> {
  const triggers = group.map((g, i) => ({
    i,
    id: g.trigger.id,
    workflow_key: g.trigger.workflowKey,
    workflow_sha: g.trigger.workflowSha,
    actor: g.trigger.actor,
    tenant_id: g.trigger.tenantId,
    data: g.trigger.data,
    cancellation_key: g.trigger.cancellationKey,
    settings: g.trigger.settings,
    source: g.trigger.source,
    state: g.state,
    at: g.trigger.now,
    ikey: g.idempotency?.record.key ?? null,
    ihash: g.idempotency?.record.request_hash ?? null,
    istatus: g.idempotency?.record.status_code ?? null,
    iresponse: g.idempotency?.record.response ?? null,
    irequest_id: g.idempotency?.record.request_id ?? null,
    iexpires: g.idempotency?.expiresAt ?? null,
    start: g.start ? { position: g.start.position, state: g.start.state, wake_at: g.start.wakeAt, events: g.start.events } : null,
    trace: g.traceContext ?? null,
  }));
  const runs = group.flatMap((g) => g.runs.map((r) => ({ t: g.trigger.id, id: r.id, c: r.recipient_collection, r: r.recipient_id, data: r.data })));
  const fanOut = group.flatMap((g) => g.fanOut.map((o) => ({ t: g.trigger.id, collection: o.collection, id: o.id })));
  const rows = await q.query<{ i: number; active: boolean; written: boolean }>(
    `WITH x AS MATERIALIZED (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(i int, id uuid, workflow_key text, workflow_sha text, actor jsonb, tenant_id text,
         data jsonb, cancellation_key text, settings jsonb, source jsonb, state jsonb, at timestamptz,
         ikey text, ihash text, istatus int, iresponse jsonb, irequest_id text, iexpires timestamptz, start jsonb, trace jsonb)
     ), ok AS MATERIALIZED (
       SELECT x.* FROM x WHERE EXISTS (SELECT 1 FROM workflows w WHERE w.key = x.workflow_key AND w.sha = x.workflow_sha AND w.active)
     ), k AS (
       INSERT INTO idempotency_keys (key, request_hash, status_code, response, request_id, inserted_at, expires_at)
       SELECT ikey, ihash, istatus, iresponse, irequest_id, at, iexpires FROM ok WHERE ikey IS NOT NULL
        ORDER BY ikey -- one lock order for every group: two groups claiming the same keys cannot deadlock
       ON CONFLICT (key) DO NOTHING RETURNING key
     ), w AS MATERIALIZED (
       SELECT ok.* FROM ok WHERE ok.ikey IS NULL OR ok.ikey IN (SELECT key FROM k)
     ), t AS (
       INSERT INTO workflow_triggers (id, workflow_key, workflow_sha, actor, tenant_id, data, cancellation_key, settings, source, trace_context, inserted_at)
       SELECT id, workflow_key, workflow_sha, actor, tenant_id, data, cancellation_key, settings, COALESCE(source, '{"type":"api"}'), trace, at FROM w
       RETURNING 1
     ), r AS (
       INSERT INTO recipient_runs (id, workflow_run_id, workflow_key, workflow_sha, recipient_collection, recipient_id,
                                   actor, tenant_id, cancellation_key, data, status, position, state, source, wake_at, inserted_at, updated_at)
       SELECT y.id, w.id, w.workflow_key, w.workflow_sha, y.c, y.r, w.actor, w.tenant_id, w.cancellation_key, y.data,
              -- Runs that start paused on their first delay (engine/paused-start.ts).
              CASE WHEN w.start IS NULL THEN 'queued' ELSE 'paused' END, COALESCE((w.start->>'position')::int, 0),
              COALESCE(w.start->'state', w.state), w.source, COALESCE((w.start->>'wake_at')::timestamptz, w.at), w.at, w.at
         FROM jsonb_to_recordset($2::jsonb) AS y(t uuid, id uuid, c text, r text, data jsonb) JOIN w ON w.id = y.t
       RETURNING id, workflow_run_id, status
     ), e AS (
       -- The events of their first advance, in order (run_events are listed by seq).
       INSERT INTO run_events (id, recipient_run_id, event, status, step_ref, step_type, data, inserted_at)
       SELECT gen_random_uuid(), r.id, ev->>'event', 'ok', ev->>'step_ref', ev->>'step_type', NULLIF(ev->'data', 'null'::jsonb), w.at
         FROM r JOIN w ON w.id = r.workflow_run_id
        CROSS JOIN LATERAL jsonb_array_elements(w.start->'events') WITH ORDINALITY AS s(ev, n)
        WHERE r.status = 'paused'
        ORDER BY r.id, s.n
     ), f AS (
       INSERT INTO fanouts (id, workflow_run_id, workflow_key, cancellation_key, object_collection, object_id, depth, status, inserted_at, updated_at)
       SELECT gen_random_uuid(), w.id, w.workflow_key, w.cancellation_key, o.collection, o.id, 1, 'pending', w.at, w.at
         FROM jsonb_to_recordset($3::jsonb) AS o(t uuid, collection text, id text) JOIN w ON w.id = o.t
        WHERE EXISTS (SELECT 1 FROM subscriptions s WHERE s.object_collection = o.collection AND s.object_id = o.id)
       RETURNING 1
     )
     SELECT x.i, EXISTS (SELECT 1 FROM ok WHERE ok.i = x.i) AS active, EXISTS (SELECT 1 FROM w WHERE w.i = x.i) AS written FROM x`,
    [JSON.stringify(triggers), JSON.stringify(runs), JSON.stringify(fanOut)],
    { prepare: true, commits },
  );
  const out: GroupedTriggerResult[] = group.map(() => ({ active: false, written: false }));
  for (const row of rows) out[row.i] = { active: row.active, written: row.written };
  return out;
}

/** An inline identification of one trigger of the group was refused: roll back, retry without it. */
class IdentifyRefused extends Error {
  constructor(readonly index: number, override readonly cause: unknown) { super('inline identification refused'); }
}

/** Deadlock or serialization failure: the group rolled back as a whole and may simply run again. */
const isTransient = (err: unknown) => ['40P01', '40001'].includes((err as { code?: string })?.code ?? '');
const TRANSIENT_RETRIES = 3;

/**
 * An error that belongs to one trigger's own input (an invalid inline entity: a Herald error,
 * or a value PostgreSQL refuses — SQLSTATE class 22 data exception or 23 integrity), not to the
 * group or the connection.
 */
function isOwnInputError(err: unknown): boolean {
  if (err instanceof HeraldError) return true;
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}

/**
 * Commits a group of triggers in ONE transaction (group commit) with a constant number of
 * statements — the expired-key sweep and `insertTriggerGroup` (alone, without BEGIN/COMMIT, when
 * no trigger of the group has an Idempotency-Key or inline entities) — plus the upserts of inline
 * entities for the triggers that carry some. Each trigger gets its own result. A trigger whose
 * inline entity is refused fails alone: the transaction rolls back and the group is written
 * again without it (rare: input is validated before). A lost COMMIT throws CommitOutcomeUnknown
 * for the whole group, which every caller of the group reports.
 */
export async function writeTriggerGroup(db: Db, writes: TriggerWrite[]): Promise<TriggerWriteResult[]> {
  const out: TriggerWriteResult[] = new Array(writes.length);
  let pending = writes.map((_, i) => i);
  for (let transient = 0; pending.length > 0;) {
    const group = pending.map((i) => writes[i]);
    try {
      // Without keys or inline entities the group is ONE statement: atomic on its own, so it
      // commits without BEGIN/COMMIT round trips (a lost connection is still an unknown outcome).
      const results = group.some((w) => w.idempotency || w.identify.length > 0)
        ? await db.transaction((tx) => writeGroupIn(tx, group))
        : outcomes(await insertTriggerGroup(db, group, true));
      pending.forEach((i, j) => { out[i] = results[j]; });
      return out;
    } catch (err) {
      if (err instanceof IdentifyRefused) {
        out[pending[err.index]] = { error: err.cause };
        pending = pending.filter((_, j) => j !== err.index);
      } else if (isTransient(err) && ++transient <= TRANSIENT_RETRIES) {
        continue;
      } else {
        throw err;
      }
    }
  }
  return out;
}

async function writeGroupIn(tx: Queryable, group: TriggerWrite[]): Promise<TriggerWriteResult[]> {
  await sweepExpiredKeys(tx, group.flatMap((w) => (w.idempotency ? [{ key: w.idempotency.record.key, now: w.now }] : [])));
  const rows = await insertTriggerGroup(tx, group);
  // Entities only for the triggers that were written, in one order of entity keys for every
  // group (a stable sort keeps each entity's updates in trigger order), so groups cannot deadlock.
  const upserts = group.flatMap((w, index) => (rows[index].written ? w.identify.map((id) => ({ index, ...id })) : []));
  upserts.sort((a, b) => compareKeys(a.key, b.key));
  for (const u of upserts) {
    try {
      await identifyInline(tx, u.key, u.properties, group[u.index].now);
    } catch (err) {
      if (isOwnInputError(err)) throw new IdentifyRefused(u.index, err);
      throw err;
    }
  }
  return outcomes(rows);
}

const outcomes = (rows: GroupedTriggerResult[]): TriggerWriteResult[] =>
  rows.map((r) => (r.written ? 'written' : r.active ? 'idempotency_taken' : 'stale_workflow'));

function compareKeys(a: EntityKey, b: EntityKey): number {
  if (a.collection !== b.collection) return a.collection < b.collection ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
