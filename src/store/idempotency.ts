import type { Queryable } from './db.js';
import type { IdempotencyRecord } from '../engine/ports.js';

/** The unexpired record for a key, if any. Expired records are ignored (and swept on write). */
export async function findIdempotencyRecord(q: Queryable, key: string, now: Date): Promise<IdempotencyRecord | null> {
  const rows = await q.query<IdempotencyRecord>(
    'SELECT key, request_hash, status_code, response, request_id FROM idempotency_keys WHERE key = $1 AND expires_at > $2',
    [key, now],
    { prepare: true },
  );
  return rows[0] ?? null;
}

/**
 * Claims the key inside the trigger's transaction. Returns false when another request holds
 * it: the unique key serialises concurrent duplicates, and the loser replays the winner's answer.
 */
export async function claimIdempotencyKey(q: Queryable, r: IdempotencyRecord, now: Date, expiresAt: Date): Promise<boolean> {
  await q.query('DELETE FROM idempotency_keys WHERE key = $1 AND expires_at <= $2', [r.key, now]);
  const rows = await q.query(
    `INSERT INTO idempotency_keys (key, request_hash, status_code, response, request_id, inserted_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key) DO NOTHING RETURNING key`,
    [r.key, r.request_hash, r.status_code, JSON.stringify(r.response), r.request_id, now, expiresAt],
  );
  return rows.length === 1;
}

/**
 * Deletes the expired records of these keys (one statement for a group of triggers), so that the
 * claim that follows in the same transaction can take them.
 */
export async function sweepExpiredKeys(q: Queryable, keys: { key: string; now: Date }[]): Promise<void> {
  if (keys.length === 0) return;
  await q.query(
    `DELETE FROM idempotency_keys k USING unnest($1::text[], $2::timestamptz[]) AS u(key, at)
      WHERE k.key = u.key AND k.expires_at <= u.at`,
    [keys.map((k) => k.key), keys.map((k) => k.now)],
    { prepare: true },
  );
}
