/*
 * SQL for delay timers. A run paused on a delay step (state.waiting) is "fired" here, set-based,
 * instead of going through a claim and a checkpoint: one statement makes every due delay's run
 * queued again and stamps the firing time into its state.waiting (`fired_at`). The delay's
 * step_completed event, with the lateness at firing, is written by the claim that advances the
 * run, inside that advance's one event row (plan-run.ts): an event row of its own per fired run
 * made a firing of 1,000 runs take 40–60 ms instead of 30–32 (issue 12, timers). The run keeps
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
export async function fireDueDelays(q: Queryable, now: Date, limit: number): Promise<number> {
  const rows = await q.query<{ n: number }>(
    `WITH due AS (
       SELECT id FROM recipient_runs
        WHERE status = 'paused' AND state ? 'waiting' AND wake_at <= $1
        ORDER BY wake_at
        LIMIT $2
        FOR UPDATE SKIP LOCKED
     ), fired AS (
       UPDATE recipient_runs r
          SET status = 'queued', state = jsonb_set(r.state, '{waiting,fired_at}', to_jsonb($1::timestamptz)), updated_at = $1
         FROM due
        WHERE r.id = due.id
       RETURNING r.id
     )
     SELECT count(*)::int AS n FROM fired`,
    [now, limit],
  );
  return rows[0]?.n ?? 0;
}

/** When the next delay ends, or null when no run is paused on one. */
export async function nextDelayDue(q: Queryable): Promise<Date | null> {
  const rows = await q.query<{ wake_at: Date }>(
    `SELECT wake_at FROM recipient_runs WHERE status = 'paused' AND state ? 'waiting' ORDER BY wake_at LIMIT 1`,
  );
  return rows[0]?.wake_at ?? null;
}
