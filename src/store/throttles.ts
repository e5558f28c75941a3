/*
 * SQL for throttle steps. Both statements are primary-key operations. The window upsert locks
 * the window row until commit, so concurrent executions for one key are counted one at a time
 * and the limit can never be exceeded.
 */
import type { Db } from './db.js';

export interface ThrottleHit {
  scopeKey: string;
  runId: string;
  stepRef: string;
  windowMs: number;
  limit: number;
  now: Date;
}

/**
 * Counts one execution against its window (opening a new window when the last one closed) and
 * says whether it is within the limit. A run asking again for the same step (a retry after a
 * crash) gets its first answer and is not counted twice.
 */
export async function recordThrottleHit(db: Db, hit: ThrottleHit): Promise<boolean> {
  return db.transaction(async (tx) => {
    const earlier = await tx.query<{ allowed: boolean }>(
      'SELECT allowed FROM throttle_hits WHERE recipient_run_id = $1 AND step_ref = $2', [hit.runId, hit.stepRef],
    );
    if (earlier.length > 0) return earlier[0].allowed;
    const closesAt = new Date(hit.now.getTime() + hit.windowMs);
    const [window] = await tx.query<{ count: number }>(
      `INSERT INTO throttle_windows (scope_key, opened_at, closes_at, count) VALUES ($1, $2, $3, 1)
       ON CONFLICT (scope_key) DO UPDATE SET
         opened_at = CASE WHEN throttle_windows.closes_at <= $2 THEN $2 ELSE throttle_windows.opened_at END,
         closes_at = CASE WHEN throttle_windows.closes_at <= $2 THEN $3 ELSE throttle_windows.closes_at END,
         count = CASE WHEN throttle_windows.closes_at <= $2 THEN 1 ELSE throttle_windows.count + 1 END
       RETURNING count`,
      [hit.scopeKey, hit.now, closesAt],
    );
    const allowed = window.count <= hit.limit;
    await tx.query('INSERT INTO throttle_hits (recipient_run_id, step_ref, allowed, inserted_at) VALUES ($1, $2, $3, $4)', [hit.runId, hit.stepRef, allowed, hit.now]);
    return allowed;
  });
}
