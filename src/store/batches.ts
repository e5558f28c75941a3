/*
 * SQL for batch steps. Plans checked with EXPLAIN on PostgreSQL 15:
 * - join: INSERT .. ON CONFLICT on batches_open_key_idx (the partial unique index is the
 *   arbiter, so two first triggers for one key meet on it and one of them updates);
 * - flush claim and next close: Limit -> LockRows -> Index Scan using batches_due_idx;
 * - members of a batch: Index Scan using batch_members_pkey (batch_id, seq).
 */
import type { Db, Queryable } from './db.js';

export interface BatchJoin {
  runId: string;
  stepRef: string;
  workflowKey: string;
  recipient: { collection: string; id: string };
  tenantKey: string;
  batchKey: string;
  actor: { collection: string; id: string } | null;
  data: Record<string, unknown>;
  now: Date;
  /** Where the window closes if this trigger opens the batch. */
  closesAt: Date;
  windowType: 'fixed' | 'sliding';
  windowMs: number | null;
  extensionLimitAt: Date | null;
  maxItems: number | null;
  executionMode: 'accumulate' | 'flush_leading';
}

export interface BatchMembership {
  batchId: string;
  /** This run opened the batch in flush_leading mode: it goes on at once. */
  leading: boolean;
  closesAt: Date;
}

export interface BatchRow {
  id: string;
  status: 'open' | 'closing' | 'closed';
  closes_at: Date;
  continued_run_id: string | null;
  flushed_at: Date | null;
}

export interface BatchMemberRow {
  recipient_run_id: string;
  actor: { collection: string; id: string } | null;
  data: Record<string, unknown>;
  inserted_at: Date;
}

/**
 * Adds a run to the open batch for its key, opening one if there is none, in one transaction.
 * The upsert row-locks the batch until commit, so concurrent joins count one at a time and a
 * flush (which locks the same row) sees every committed member. Joining again for the same
 * (run, step) returns the first answer.
 */
export async function joinBatch(db: Db, j: BatchJoin): Promise<BatchMembership> {
  return db.transaction(async (tx) => {
    const earlier = await tx.query<{ batch_id: string; leading: boolean; closes_at: Date }>(
      `SELECT m.batch_id, m.leading_item AS leading, b.closes_at FROM batch_members m JOIN batches b ON b.id = m.batch_id
        WHERE m.recipient_run_id = $1 AND m.step_ref = $2`,
      [j.runId, j.stepRef],
    );
    if (earlier.length > 0) return { batchId: earlier[0].batch_id, leading: earlier[0].leading, closesAt: earlier[0].closes_at };
    // A later activity may move a sliding window (capped by the extension limit) and reaching
    // max_items closes the batch now; a fixed window never moves.
    const [batch] = await tx.query<{ id: string; closes_at: Date; opened: boolean }>(
      `INSERT INTO batches (id, workflow_key, step_ref, recipient_collection, recipient_id, tenant_key, batch_key, status,
                            execution_mode, window_type, window_ms, opened_at, closes_at, extension_limit_at, max_items, items)
       VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, 'open', $7, $8, $9, $10, $11, $12, $13, 1)
       ON CONFLICT (workflow_key, step_ref, recipient_collection, recipient_id, tenant_key, batch_key) WHERE status = 'open'
       DO UPDATE SET
         items = batches.items + 1,
         -- A full batch leaves the open-key index, so the next trigger opens a new one.
         status = CASE WHEN batches.max_items IS NOT NULL AND batches.items + 1 >= batches.max_items THEN 'closing' ELSE 'open' END,
         closes_at = CASE
           WHEN batches.max_items IS NOT NULL AND batches.items + 1 >= batches.max_items THEN LEAST(batches.closes_at, $10)
           WHEN batches.window_type = 'sliding' THEN
             GREATEST(LEAST($10::timestamptz + make_interval(secs => batches.window_ms / 1000.0), COALESCE(batches.extension_limit_at, 'infinity')), $10)
           ELSE batches.closes_at END
       RETURNING id, closes_at, (xmax = 0) AS opened`,
      [j.workflowKey, j.stepRef, j.recipient.collection, j.recipient.id, j.tenantKey, j.batchKey,
        j.executionMode, j.windowType, j.windowMs, j.now, j.closesAt, j.extensionLimitAt, j.maxItems],
    );
    const leading = batch.opened && j.executionMode === 'flush_leading';
    await tx.query(
      `INSERT INTO batch_members (batch_id, recipient_run_id, step_ref, actor, data, leading_item, inserted_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [batch.id, j.runId, j.stepRef, j.actor ? JSON.stringify(j.actor) : null, JSON.stringify(j.data), leading, j.now],
    );
    return { batchId: batch.id, leading, closesAt: batch.closes_at };
  });
}

export async function getBatch(q: Queryable, id: string): Promise<BatchRow | null> {
  const rows = await q.query<BatchRow>('SELECT id, status, closes_at, continued_run_id, flushed_at FROM batches WHERE id = $1', [id]);
  return rows[0] ?? null;
}

/** What one flush did, and when the next two windows close. */
export interface FlushedBatches {
  flushed: number;
  woken: number;
  /** `limit` batches were flushed and more were due: the next flush should go at once. */
  more: boolean;
  next: Date | null;
  after: Date | null;
}

/**
 * Flushes up to `limit` due batches in ONE statement, each exactly once: the batch rows are
 * locked (SKIP LOCKED: concurrent flushers take different batches) and, under that lock, each
 * batch's membership is frozen (members whose runs were cancelled are left out), the run that
 * carries it on is picked (its first remaining member that did not already go on as the leading
 * item), the batch is closed, that run is woken and the other paused members end in the same
 * statement — one statement whatever the number of batches, so windows closing together are
 * flushed together. Returns how many batches were flushed, how many runs were woken, whether more
 * were due than it took, and when the next two windows close after `now` (`next`, `after`; null
 * when there are none): the timer loop's turn for batches is one round trip (queue/timer-loop.ts).
 */
export async function flushDueBatches(q: Queryable, now: Date, limit: number): Promise<FlushedBatches> {
  const [result] = await q.query<FlushedBatches>(
    `WITH due AS MATERIALIZED (
       SELECT id, step_ref FROM batches
        WHERE status IN ('open', 'closing') AND closes_at <= $1
        ORDER BY closes_at LIMIT $2
        FOR UPDATE SKIP LOCKED
     ), frozen AS MATERIALIZED (
       UPDATE batch_members m SET included = (r.status IS DISTINCT FROM 'cancelled')
         FROM batch_members m2 LEFT JOIN recipient_runs r ON r.id = m2.recipient_run_id
        WHERE m.batch_id IN (SELECT id FROM due) AND m2.batch_id = m.batch_id AND m2.seq = m.seq
       RETURNING m.batch_id, m.recipient_run_id, m.seq, m.leading_item, m.included
     ), pick AS MATERIALIZED (
       SELECT DISTINCT ON (batch_id) batch_id, recipient_run_id FROM frozen
        WHERE included AND NOT leading_item ORDER BY batch_id, seq
     ), closed AS (
       UPDATE batches b SET status = 'closed', flushed_at = $1, continued_run_id = pick.recipient_run_id
         FROM due LEFT JOIN pick ON pick.batch_id = due.id
        WHERE b.id = due.id
       RETURNING b.id
     ), woken AS (
       -- The run that carries each batch on is woken now.
       UPDATE recipient_runs SET wake_at = $1
        WHERE id IN (SELECT recipient_run_id FROM pick) AND status = 'paused'
       RETURNING id
     ), ended AS (
       -- Every other paused member ends here at once (no wake-up each). A member whose worker
       -- still holds it (its pause not yet committed) is left alone: it settles itself against
       -- the closed batch when it wakes.
       UPDATE recipient_runs SET status = 'completed', wake_at = NULL, state = state - 'batch', updated_at = $1
        -- (A leading item went on when it joined; it may be paused further on, in another step.)
        WHERE id IN (SELECT f.recipient_run_id FROM frozen f LEFT JOIN pick p ON p.batch_id = f.batch_id
                      WHERE NOT f.leading_item AND f.recipient_run_id IS DISTINCT FROM p.recipient_run_id)
          AND status = 'paused'
       RETURNING id
     ), next AS (
       -- batches_due_idx in closes_at order, first row.
       SELECT closes_at FROM batches WHERE status IN ('open', 'closing') AND closes_at > $1 ORDER BY closes_at LIMIT 1
     ), ended_events AS (
       INSERT INTO run_events (id, recipient_run_id, event, status, step_ref, step_type, data, inserted_at)
       SELECT gen_random_uuid(), e.id, x.event, 'ok', CASE WHEN x.event = 'run_halted' THEN due.step_ref END, CASE WHEN x.event = 'run_halted' THEN 'batch' END,
              CASE WHEN x.event = 'run_halted'
                   THEN jsonb_build_object('reason', 'batched: another run of the batch carries it on', 'batch_id', due.id, 'continued_in', pick.recipient_run_id)
              END, $1
         FROM ended e
         JOIN frozen f ON f.recipient_run_id = e.id AND NOT f.leading_item
         JOIN due ON due.id = f.batch_id
         LEFT JOIN pick ON pick.batch_id = due.id
        CROSS JOIN (VALUES ('run_halted', 1), ('run_completed', 2)) AS x(event, ord)
        ORDER BY e.id, x.ord
     )
     SELECT (SELECT count(*) FROM closed)::int AS flushed, (SELECT count(*) FROM woken)::int AS woken,
            (SELECT closes_at FROM next) AS next,
            (SELECT closes_at FROM batches WHERE status IN ('open', 'closing') AND closes_at > (SELECT closes_at FROM next)
              ORDER BY closes_at LIMIT 1) AS after,
            -- Asked only of a full flush, as of a full firing (store/timers.ts).
            CASE WHEN (SELECT count(*) FROM due) = $2 THEN EXISTS (
              SELECT 1 FROM batches
               WHERE status IN ('open', 'closing') AND closes_at <= $1 AND id NOT IN (SELECT id FROM due))
            ELSE false END AS more`,
    [now, limit],
  );
  return result ?? { flushed: 0, woken: 0, more: false, next: null, after: null };
}

/** The activities of a flushed batch in arrival order (oldest first), and their count. */
export async function batchActivities(q: Queryable, batchId: string, order: 'asc' | 'desc', limit: number): Promise<{ total: number; actors: { collection: string; id: string }[]; activities: BatchMemberRow[]; latestData: Record<string, unknown>; mergedData: Record<string, unknown>[] }> {
  const rows = await q.query<BatchMemberRow & { seq: number }>(
    `SELECT recipient_run_id, actor, data, inserted_at, seq FROM batch_members
      WHERE batch_id = $1 AND included AND NOT leading_item ORDER BY seq`,
    [batchId],
  );
  const actors = new Map<string, { collection: string; id: string }>();
  for (const r of rows) if (r.actor) actors.set(`${r.actor.collection}\u0000${r.actor.id}`, r.actor);
  const chosen = order === 'desc' ? rows.slice(Math.max(0, rows.length - limit)) : rows.slice(0, limit);
  return {
    total: rows.length,
    actors: [...actors.values()],
    activities: chosen,
    latestData: rows.at(-1)?.data ?? {},
    mergedData: rows.map((r) => r.data),
  };
}

/** A message's activities: its batch's included members, oldest first, keyset-paged by seq. */
export async function listBatchActivities(q: Queryable, batchId: string, afterSeq: number | null, limit: number): Promise<(BatchMemberRow & { seq: number })[]> {
  return q.query(
    `SELECT recipient_run_id, actor, data, inserted_at, seq FROM batch_members
      WHERE batch_id = $1 AND included AND NOT leading_item AND ($2::bigint IS NULL OR seq > $2)
      ORDER BY seq LIMIT $3`,
    [batchId, afterSeq, limit],
  );
}

/** Up to `perBatch` activities of each given batch (oldest first), for a page of feed items. */
export async function activitiesForBatches(q: Queryable, batchIds: string[], perBatch: number): Promise<Map<string, (BatchMemberRow & { seq: number })[]>> {
  const out = new Map<string, (BatchMemberRow & { seq: number })[]>();
  if (batchIds.length === 0) return out;
  const rows = await q.query<BatchMemberRow & { seq: number; batch_id: string }>(
    `SELECT batch_id, recipient_run_id, actor, data, inserted_at, seq FROM (
       SELECT m.*, row_number() OVER (PARTITION BY batch_id ORDER BY seq) AS n FROM batch_members m
        WHERE batch_id = ANY($1::uuid[]) AND included AND NOT leading_item) x
      WHERE n <= $2 ORDER BY batch_id, seq`,
    [batchIds, perBatch],
  );
  for (const r of rows) {
    if (!out.has(r.batch_id)) out.set(r.batch_id, []);
    out.get(r.batch_id)!.push(r);
  }
  return out;
}
