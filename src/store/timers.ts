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
 * Plan (PostgreSQL 15, 10k delays among 50k queued runs, EXPLAIN ANALYZE): the due rows, `next`,
 * `after` and `more` are read from recipient_runs_delay_due_idx (`more` steps over the rows
 * just fired with a hashed NOT IN, and only when the firing was full). The UPDATE joins the due
 * ids back to the runs as before this statement said what comes next: a hash join over the
 * table at that size, which the planner trades for primary-key probes as the table grows.
 */
import type { Queryable } from './db.js';

/** What one firing did, and when the next two delays end. */
export interface FiredDelays {
  fired: number;
  /** `limit` delays were fired and more were due: the next firing should go at once. */
  more: boolean;
  /** When the first delay ending after `now` ends, or null. */
  next: Date | null;
  /** When the first delay ending after `next` ends, or null. */
  after: Date | null;
}

/**
 * Fires up to `limit` delays due at `now`, and says when the next two delays end, in ONE
 * statement: the timer loop's turn is one round trip, and knowing the end after next lets it
 * start that firing on time even while this one is still running (queue/timer-loop.ts). Rows
 * held by a worker's claim, a cancel or another firing are skipped (SKIP LOCKED): the claim
 * handles the delay itself (plan-run.ts), a cancel wins, the other firing fires them. Several
 * firings, in one process or many, run concurrently without overlapping.
 */
export async function fireDueDelays(q: Queryable, now: Date, limit: number): Promise<FiredDelays> {
  const rows = await q.query<{ n: number; more: boolean; next: Date | null; after: Date | null }>(
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
     ), next AS (
       SELECT wake_at FROM recipient_runs
        WHERE status = 'paused' AND state ? 'waiting' AND wake_at > $1
        ORDER BY wake_at LIMIT 1
     )
     SELECT (SELECT count(*) FROM fired)::int AS n, (SELECT wake_at FROM next) AS next,
            -- Asked only of a full firing: a group of exactly the limit needs no second firing.
            CASE WHEN (SELECT count(*) FROM due) = $2 THEN EXISTS (
              SELECT 1 FROM recipient_runs
               WHERE status = 'paused' AND state ? 'waiting' AND wake_at <= $1 AND id NOT IN (SELECT id FROM due))
            ELSE false END AS more,
            (SELECT wake_at FROM recipient_runs
              WHERE status = 'paused' AND state ? 'waiting' AND wake_at > (SELECT wake_at FROM next)
              ORDER BY wake_at LIMIT 1) AS after`,
    [now, limit],
  );
  return { fired: rows[0]?.n ?? 0, more: rows[0]?.more ?? false, next: rows[0]?.next ?? null, after: rows[0]?.after ?? null };
}

/** When the earliest delay ends and the earliest batch window closes (null: none). */
export interface EarliestTimers {
  delay: Date | null;
  batch: Date | null;
}

/**
 * The earliest timer of each kind, read from the two due indexes (recipient_runs_delay_due_idx,
 * batches_due_idx) without locking or writing anything: the timer loop's idle poll. Running the
 * firing and the flush themselves to find nothing due cost, over 50,000 queued runs, 1.4 + 2.6 ms
 * of PGlite's one thread every 100 ms (0.8 + 1.2 ms of a PostgreSQL backend); this look costs
 * 0.36 ms (0.25 ms). Both kinds live here because the loop asks about both at once.
 */
export async function earliestTimers(q: Queryable): Promise<EarliestTimers> {
  const rows = await q.query<EarliestTimers>(
    `SELECT (SELECT wake_at FROM recipient_runs WHERE status = 'paused' AND state ? 'waiting' ORDER BY wake_at LIMIT 1) AS delay,
            (SELECT closes_at FROM batches WHERE status IN ('open', 'closing') ORDER BY closes_at LIMIT 1) AS batch`,
  );
  return rows[0] ?? { delay: null, batch: null };
}
