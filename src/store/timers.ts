/*
 * SQL for delay timers. A run paused on a delay step (state.waiting) is "fired" here, set-based,
 * instead of going through a claim and a checkpoint: one statement makes every due delay's run
 * queued again and records the delay's step_completed event with its lateness. The run keeps
 * wake_at = the delay's end, so the claim (ordered by wake_at) takes it before work that arrived
 * after it was due.
 *
 * Plans (PostgreSQL 15, 10k delays among 50k queued runs): both statements use
 * recipient_runs_delay_due_idx (Index Cond wake_at <= $1; next: Index Only Scan, LIMIT 1).
 */
import type { Queryable } from './db.js';

/**
 * Fires up to `limit` delays due at `now`; returns how many. Rows held by a worker's claim or a
 * cancel are skipped (SKIP LOCKED): the claim handles the delay itself (plan-run.ts), a cancel
 * wins. Several processes fire concurrently without overlapping.
 */
export async function fireDueDelays(q: Queryable, now: Date, limit: number, onLate?: (lateMs: number[]) => void): Promise<number> {
  const rows = await q.query<{ n: number; late: number[] }>(
    `WITH due AS (
       SELECT id, state->'waiting' AS waiting FROM recipient_runs
        WHERE status = 'paused' AND state ? 'waiting' AND wake_at <= $1
        ORDER BY wake_at
        LIMIT $2
        FOR UPDATE SKIP LOCKED
     ), fired AS (
       UPDATE recipient_runs r
          SET status = 'queued', state = r.state - 'waiting', updated_at = $1
         FROM due
        WHERE r.id = due.id
       RETURNING r.id, due.waiting,
                 greatest(0, round(extract(epoch FROM $1::timestamptz - (due.waiting->>'until')::timestamptz) * 1000))::float8 AS late_ms
     ), ev AS (
       INSERT INTO run_events (id, recipient_run_id, event, status, step_ref, step_type, data, inserted_at)
       SELECT gen_random_uuid(), id, 'step_completed', 'ok', waiting->>'step_ref', 'delay',
              jsonb_build_object('delayed_until', waiting->'until', 'late_ms', late_ms), $1
         FROM fired
     )
     SELECT count(*)::int AS n, COALESCE(array_agg(late_ms), '{}') AS late FROM fired`,
    [now, limit],
  );
  if (onLate && rows[0]?.late.length) onLate(rows[0].late.map(Number));
  return rows[0]?.n ?? 0;
}

/** When the next delay ends, or null when no run is paused on one. */
export async function nextDelayDue(q: Queryable): Promise<Date | null> {
  const rows = await q.query<{ wake_at: Date }>(
    `SELECT wake_at FROM recipient_runs WHERE status = 'paused' AND state ? 'waiting' ORDER BY wake_at LIMIT 1`,
  );
  return rows[0]?.wake_at ?? null;
}
