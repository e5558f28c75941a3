/**
 * Fixed-window rate-limit counters in the database, so a limit holds across API processes.
 * Each row counts what all processes reserved in one window of one bucket (an API key, or a
 * key + user). `reserve` is one upsert on the primary key (an index lookup), and it never takes
 * the row past the limit by more than the slice asked for, which it grants only in part.
 */
import type { Queryable } from './db.js';

/**
 * Asks for `want` requests of `bucket`'s quota in the window starting at `windowStart`;
 * returns how many were granted (0 when the window is used up).
 */
export async function reserveQuota(q: Queryable, bucket: string, windowStart: Date, want: number, limit: number): Promise<number> {
  const rows = await q.query<{ count: number }>(
    `INSERT INTO rate_limits AS r (bucket, window_start, count) VALUES ($1, $2, $3)
     ON CONFLICT (bucket, window_start) DO UPDATE SET count = r.count + EXCLUDED.count
       WHERE r.count < $4
     RETURNING count`,
    [bucket, windowStart, want, limit],
  );
  if (rows.length === 0) return 0;
  const before = rows[0].count - want;
  return Math.max(0, Math.min(want, limit - before));
}

/** Deletes windows that ended before `before`. */
export async function deleteOldWindows(q: Queryable, before: Date): Promise<void> {
  await q.query('DELETE FROM rate_limits WHERE window_start < $1', [before]);
}
