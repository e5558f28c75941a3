/*
 * Runs paused on a wait_for_event step (their wait is `state.event_wait`), for event delivery.
 * Plans checked with EXPLAIN on PostgreSQL 15 (50k runs, 5k of them waiting; the partial index
 * of migrations/010_waiting_events.sql):
 * - one recipient: Index Scan using recipient_runs_event_wait_idx, Index Cond on (event,
 *   recipient_collection, recipient_id), expiry and `matched` as a Filter, no Sort;
 * - every recipient, later pages: the same Index Scan, Index Cond on event and the row
 *   comparison (recipient_collection, recipient_id, id) > cursor, no Sort; the first page may
 *   be a Bitmap Index Scan on the same index plus a top-N Sort of that event's waiting runs;
 * - wake: rows locked by primary key, in id order.
 */
import type { Queryable } from './db.js';
import type { WaitingRunsQuery } from '../engine/ports.js';
import type { ReceivedEvent, RunRow } from '../domain/run.js';

/** Paused runs waiting for `event` and not yet expired or matched, in index order. */
export async function findWaitingRuns(q: Queryable, f: WaitingRunsQuery): Promise<RunRow[]> {
  const params: unknown[] = [f.event, f.now, f.tenantId, f.limit];
  const where: string[] = [];
  if (f.recipient) {
    params.push(f.recipient.collection, f.recipient.id);
    where.push(`recipient_collection = $${params.length - 1} AND recipient_id = $${params.length}`);
    if (f.after) {
      params.push(f.after.runId);
      where.push(`id > $${params.length}::uuid`);
    }
  } else if (f.after) {
    params.push(f.after.collection, f.after.id, f.after.runId);
    where.push(`(recipient_collection, recipient_id, id) > ($${params.length - 2}, $${params.length - 1}, $${params.length}::uuid)`);
  }
  return q.query<RunRow>(
    `SELECT * FROM recipient_runs
      WHERE status = 'paused' AND state ? 'event_wait'
        AND state->'event_wait'->>'event' = $1
        AND NOT (state->'event_wait' ? 'matched')
        AND (state->'event_wait'->>'expires_at')::timestamptz > $2
        AND ($3::text IS NULL OR tenant_id = $3)
        ${where.map((w) => `AND ${w}`).join(' ')}
      ORDER BY state->'event_wait'->>'event', recipient_collection, recipient_id, id
      LIMIT $4`,
    params,
  );
}

/**
 * Records `received` on each run's wait and makes the run due now, for runs that are still
 * paused on that same wait (same position, not matched, not expired). Rows are locked in id
 * order, as cancel and the checkpoint lock them, so none of the three can deadlock another;
 * a run that a worker claimed meanwhile (its expiry) or a cancel took is left alone, so an
 * event and an expiry never both resolve one wait. Returns the ids woken.
 */
export async function wakeWaitingRuns(q: Queryable, runs: { runId: string; position: number }[], received: ReceivedEvent, now: Date): Promise<string[]> {
  if (runs.length === 0) return [];
  const rows = await q.query<{ id: string }>(
    `WITH m AS (
       SELECT * FROM unnest($1::uuid[], $2::int[]) AS m(id, position)
     ), locked AS (
       SELECT r.id FROM recipient_runs r WHERE r.id IN (SELECT id FROM m) ORDER BY r.id FOR UPDATE
     )
     UPDATE recipient_runs r
        SET state = jsonb_set(r.state, '{event_wait,matched}', $3::jsonb), wake_at = $4, updated_at = $4
       FROM m
      WHERE r.id = m.id AND r.id IN (SELECT id FROM locked) AND r.position = m.position
        AND r.status = 'paused' AND r.state ? 'event_wait'
        AND NOT (r.state->'event_wait' ? 'matched')
        AND (r.state->'event_wait'->>'expires_at')::timestamptz > $4
      RETURNING r.id`,
    [runs.map((r) => r.runId), runs.map((r) => r.position), JSON.stringify(received), now],
  );
  return rows.map((r) => r.id);
}
