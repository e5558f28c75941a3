/*
 * SQL for workflow recipient runs. Plans checked with EXPLAIN on PostgreSQL 15 (50k runs):
 * - claim: Limit -> LockRows -> Index Scan using recipient_runs_due_idx (Index Cond wake_at <= now);
 * - cancel: LockRows -> Sort(id) -> Bitmap Index Scan on recipient_runs_cancel_idx (key, workflow;
 *   partial, cancellation_key IS NOT NULL, proven from `= $2` in generic plans too);
 * - runs of a trigger: Index (Only) Scan using recipient_runs_once_idx (its leading column);
 * - next wake: Index Only Scan using recipient_runs_due_idx, LIMIT 1;
 * - list (run-queries.ts): Index Scan using recipient_runs_list_idx, no Sort.
 */
import type { Queryable } from './db.js';
import type { CancelMatch, RunRow } from '../domain/run.js';

/**
 * Claims up to `limit` due runs for this worker. Due = unfinished, not paused on a delay (those
 * are fired by fireDueDelays), and wake_at <= now; a claimed
 * run's wake_at becomes its lease expiry, so a run whose worker died is due again later.
 * `attempts` counts the claim in the same autocommitted statement, before any work starts, so
 * a claim whose process then crashes is counted (PGlite writes through to its files as well).
 * SKIP LOCKED lets any number of workers claim concurrently without blocking or double-claiming.
 */
export async function claimDueRuns(q: Queryable, owner: string, now: Date, leaseUntil: Date, limit: number): Promise<RunRow[]> {
  return q.query<RunRow>(
    `UPDATE recipient_runs r
        SET status = 'processing', lease_owner = $1, wake_at = $3, attempts = r.attempts + 1, updated_at = $2
       FROM (SELECT id FROM recipient_runs
              -- recipient_runs_due_idx's predicate, verbatim: delays are fired by store/timers.ts.
              WHERE (status IN ('queued', 'processing') OR (status = 'paused' AND NOT state ? 'waiting'))
                AND wake_at <= $2
              ORDER BY wake_at
              LIMIT $4
              FOR UPDATE SKIP LOCKED) due
      WHERE r.id = due.id
      RETURNING r.*`,
    [owner, now, leaseUntil, limit],
  );
}

/**
 * Gives claimed runs back without counting the claim: they are due again at once. Used for runs
 * the worker chose not to advance in this claim (suspected poison runs beyond the first), and
 * for the runs a stopping worker still holds. Returns how many it gave back.
 */
export async function releaseClaims(q: Queryable, owner: string, ids: string[], now: Date): Promise<number> {
  if (ids.length === 0) return 0;
  const rows = await q.query(
    `UPDATE recipient_runs SET wake_at = $3, lease_owner = NULL, attempts = GREATEST(attempts - 1, 0)
      WHERE id = ANY($2::uuid[]) AND status = 'processing' AND lease_owner = $1
      RETURNING id`,
    [owner, ids, now],
  );
  return rows.length;
}

/** Pushes back the lease of runs this claim still holds (the worker's heartbeat). */
export async function extendClaims(q: Queryable, owner: string, ids: string[], leaseUntil: Date): Promise<void> {
  await q.query(
    `UPDATE recipient_runs SET wake_at = $3 WHERE id = ANY($2::uuid[]) AND status = 'processing' AND lease_owner = $1`,
    [owner, ids, leaseUntil],
  );
}

/** When the next run becomes due (delays aside: the timer loop fires them and wakes the claim loops). */
export async function nextWakeAt(q: Queryable): Promise<Date | null> {
  const rows = await q.query<{ wake_at: Date }>(
    `SELECT wake_at FROM recipient_runs
      WHERE (status IN ('queued', 'processing') OR (status = 'paused' AND NOT state ? 'waiting')) AND wake_at IS NOT NULL
      ORDER BY wake_at LIMIT 1`,
  );
  return rows[0]?.wake_at ?? null;
}



/**
 * Marks every matching unfinished run cancelled, in the caller's transaction, and records a
 * `run_cancelled` event for each in the same statement (no round trip of ids and events through
 * the process: 10,000 runs are one statement). Runs a worker is holding are included: the row
 * lock makes their next checkpoint fail, discarding the outcome. Returns how many it cancelled
 * (a count, not the ids: sending 10,000 ids back and parsing them took a cancel of 10,000 runs
 * from 418 to 562 ms).
 */
export async function cancelMatchingRuns(q: Queryable, m: CancelMatch, now: Date, eventData: unknown = { cancellation_key: m.cancellationKey }): Promise<number> {
  const byRecipient = m.recipients !== null;
  const rows = await q.query<{ n: number }>(
    `WITH c AS (
       UPDATE recipient_runs
          SET status = 'cancelled', wake_at = NULL, lease_owner = NULL, updated_at = $3
        WHERE id IN (
                -- Lock in id order, as the checkpoint does, so the two can never deadlock.
                SELECT id FROM recipient_runs
                 WHERE workflow_key = $1 AND cancellation_key = $2
                   AND status IN ('queued', 'processing', 'paused')
                   AND (NOT $4 OR (recipient_collection, recipient_id) IN (
                         SELECT c, i FROM unnest($5::text[], $6::text[]) AS x(c, i)))
                 ORDER BY id
                 FOR UPDATE)
          AND status IN ('queued', 'processing', 'paused')
       RETURNING id
     ), ev AS (
       INSERT INTO run_events (id, recipient_run_id, event, status, data, inserted_at)
       SELECT gen_random_uuid(), c.id, 'run_cancelled', 'ok', $7::jsonb, $3 FROM c
     )
     SELECT count(*)::int AS n FROM c`,
    [m.workflowKey, m.cancellationKey, now, byRecipient, (m.recipients ?? []).map((r) => r.collection), (m.recipients ?? []).map((r) => r.id), JSON.stringify(eventData)],
  );
  return rows[0]?.n ?? 0;
}

export async function recordCancellation(q: Queryable, id: string, m: CancelMatch, cancelled: number, now: Date): Promise<void> {
  await q.query(
    `INSERT INTO cancellations (id, workflow_key, cancellation_key, recipients, cancelled_runs, inserted_at) VALUES ($1, $2, $3, $4, $5, $6)`,
    [id, m.workflowKey, m.cancellationKey, m.recipients ? JSON.stringify(m.recipients) : null, cancelled, now],
  );
}

/**
 * Makes every claimed run due again at once. Only for the embedded database: its files belong to
 * one process, so a claim found at start-up was held by a process that died.
 */
export async function releaseAllClaims(q: Queryable, now: Date): Promise<number> {
  const rows = await q.query(
    `UPDATE recipient_runs SET wake_at = $1, lease_owner = NULL, updated_at = $1 WHERE status = 'processing' RETURNING id`,
    [now],
  );
  return rows.length;
}
