/*
 * Whole-queue figures for /metrics, read once per scrape. They describe every process's work,
 * so they come from the database, and cheaply:
 * - due runs: Index Only Scans using recipient_runs_due_idx and recipient_runs_delay_due_idx
 *   (Index Cond wake_at <= now), the second for delays not yet fired; the partial indexes hold
 *   unfinished runs only, so finished runs (the bulk of the table) cost
 *   nothing, and the count reads only the due part of the index (no Seq Scan, no heap fetch
 *   once the visibility map is set);
 * - circuits: provider_circuits is one row per (channel, provider position), joined to channels
 *   by primary key.
 */
import type { Queryable } from './db.js';

export interface DueRunStats {
  /** Unfinished runs whose wake_at has passed (queued, paused past their time, expired leases). */
  count: number;
  /** The earliest wake_at among them; null when none is due. */
  oldestWakeAt: Date | null;
}

export async function dueRunStats(q: Queryable, now: Date): Promise<DueRunStats> {
  const rows = await q.query<{ count: number; oldest: Date | null }>(
    `SELECT sum(n)::int AS count, min(oldest) AS oldest FROM (
       -- Each part repeats its partial index's predicate verbatim (migrations/016).
       SELECT count(*) AS n, min(wake_at) AS oldest FROM recipient_runs
        WHERE (status IN ('queued', 'processing') OR (status = 'paused' AND NOT state ? 'waiting')) AND wake_at <= $1
       UNION ALL
       SELECT count(*), min(wake_at) FROM recipient_runs
        WHERE status = 'paused' AND state ? 'waiting' AND wake_at <= $1
     ) due`,
    [now],
  );
  return { count: rows[0]?.count ?? 0, oldestWakeAt: rows[0]?.oldest ?? null };
}

export interface CircuitState {
  channel: string;
  provider: string;
  consecutiveFailures: number;
  openUntil: Date | null;
}

export async function circuitStates(q: Queryable): Promise<CircuitState[]> {
  const rows = await q.query<{ channel: string; provider: string; consecutive_failures: number; open_until: Date | null }>(
    `SELECT c.key AS channel, pc.provider, pc.consecutive_failures, pc.open_until
       FROM provider_circuits pc JOIN channels c ON c.id = pc.channel_id`,
  );
  return rows.map((r) => ({ channel: r.channel, provider: r.provider, consecutiveFailures: r.consecutive_failures, openUntil: r.open_until }));
}
