import type { Queryable } from './db.js';

/**
 * Circuit breakers of channel providers (migrations/014), shared by every process. Read for
 * the channels of a claimed delivery batch in one query (primary key lookups); written once per
 * provider call with one upsert. Plan: Bitmap Index Scan on provider_circuits_pkey (channel_id
 * is its leading column); the table holds one row per (channel, provider position).
 */
export interface CircuitRow {
  channel_id: string;
  provider_index: number;
  consecutive_failures: number;
  open_until: Date | null;
}

export async function readCircuits(q: Queryable, channelIds: string[]): Promise<CircuitRow[]> {
  if (channelIds.length === 0) return [];
  return q.query<CircuitRow>(
    'SELECT channel_id, provider_index, consecutive_failures, open_until FROM provider_circuits WHERE channel_id = ANY($1::uuid[])',
    [channelIds],
  );
}

/**
 * Records one call's outcome: success closes the circuit; a retryable failure counts, and the
 * `threshold`-th consecutive one opens the circuit until `now + openMs`. A failure while it is
 * half-open (after `open_until`) opens it again at once.
 */
export async function recordCircuit(q: Queryable, c: { channelId: string; index: number; provider: string; ok: boolean; now: Date; threshold: number; openMs: number }): Promise<void> {
  await q.query(
    `INSERT INTO provider_circuits AS pc (channel_id, provider_index, provider, consecutive_failures, open_until, updated_at)
     VALUES ($1, $2, $3, CASE WHEN $4 THEN 0 ELSE 1 END,
             CASE WHEN NOT $4 AND $6 <= 1 THEN $5::timestamptz + make_interval(secs => $7 / 1000.0) END, $5)
     ON CONFLICT (channel_id, provider_index) DO UPDATE SET
       provider = EXCLUDED.provider,
       consecutive_failures = CASE WHEN $4 THEN 0 ELSE pc.consecutive_failures + 1 END,
       open_until = CASE
         WHEN $4 THEN NULL
         WHEN pc.consecutive_failures + 1 >= $6 THEN $5::timestamptz + make_interval(secs => $7 / 1000.0)
         ELSE pc.open_until END,
       updated_at = $5`,
    [c.channelId, c.index, c.provider, c.ok, c.now, c.threshold, c.openMs],
  );
}
