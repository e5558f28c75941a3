/**
 * Fixed-window rate-limit counters in the database, so a limit holds across API processes.
 * Each row counts what all processes admitted or reserved in one window of one bucket (an API
 * key, or a key + user). Processes write here in two ways (src/api/plugins/rate-limit.ts):
 *  - `reportCounts`: in the background, one multi-row upsert adds what each bucket admitted
 *    locally since the last report and reads back the global counts;
 *  - `reserveQuota`: on the request path, only once a process's local allowance is spent.
 */
import type { Queryable } from './db.js';

/**
 * Adds `used` (requests this process already admitted and has not reported) and asks for `want`
 * more of `bucket`'s quota in the window starting at `windowStart`. Returns how many of `want`
 * were granted (0 when the window is used up) and the window's count afterwards.
 */
export async function reserveQuota(
  q: Queryable, bucket: string, windowStart: Date, used: number, want: number, limit: number,
): Promise<{ granted: number; count: number }> {
  const rows = await q.query<{ count: number }>(
    `INSERT INTO rate_limits AS r (bucket, window_start, count) VALUES ($1, $2, $3)
     ON CONFLICT (bucket, window_start) DO UPDATE SET count = r.count + EXCLUDED.count
     RETURNING count`,
    [bucket, windowStart, used + want],
  );
  const count = rows[0].count;
  const before = count - used - want;
  return { granted: Math.max(0, Math.min(want, limit - before - used)), count };
}

export interface CountReport {
  bucket: string;
  windowStart: Date;
  /** Requests admitted since the last report. */
  delta: number;
}

/**
 * Adds each bucket's delta to its window's row in one statement and returns the global counts
 * (keyed `bucket` + window start in ms). Rows are written in key order, so two processes
 * reporting overlapping buckets at once cannot deadlock.
 */
export async function reportCounts(q: Queryable, reports: readonly CountReport[]): Promise<Map<string, number>> {
  const rows = await q.query<{ bucket: string; window_start: Date; count: number }>(
    `INSERT INTO rate_limits AS r (bucket, window_start, count)
     SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::int[]) ORDER BY 1, 2
     ON CONFLICT (bucket, window_start) DO UPDATE SET count = r.count + EXCLUDED.count
     RETURNING bucket, window_start, count`,
    [reports.map((r) => r.bucket), reports.map((r) => r.windowStart), reports.map((r) => r.delta)],
  );
  return new Map(rows.map((r) => [countKey(r.bucket, new Date(r.window_start).getTime()), r.count]));
}

export function countKey(bucket: string, windowStartMs: number): string {
  return `${windowStartMs}:${bucket}`;
}

/** Deletes windows that ended before `before`. */
export async function deleteOldWindows(q: Queryable, before: Date): Promise<void> {
  await q.query('DELETE FROM rate_limits WHERE window_start < $1', [before]);
}
