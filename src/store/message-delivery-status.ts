import type { Queryable } from './db.js';

/** One inbound status for a message of a channel: by the provider's id for it, or by Herald's. */
export interface InboundStatusUpdate {
  id: string;
  byMessageId: boolean;
  status: string;
  reason: string | null;
}

/**
 * Applies provider status events (bounces, delivery receipts) to a channel's messages in ONE
 * statement: the messages are found by (provider, external_id) in message_external_ids
 * (migration 031, message-external-ids.ts), or by primary key for SMTP bounces, locked, moved to
 * the reported status when it differs, and each change is recorded as a message event carrying
 * the provider's reason. Returns the ids of the messages that changed.
 *
 * Plan (EXPLAIN, PostgreSQL 15, 50,000 messages and their provider ids): Nested Loop over the
 * events -> Index Only Scan using message_external_ids_pkey (provider, external_id) / Index Only
 * Scan using messages_pkey, then Index Scan using messages_pkey for the lock.
 */
export async function applyInboundStatuses(q: Queryable, channelId: string, provider: string, updates: InboundStatusUpdate[], now: Date): Promise<string[]> {
  if (updates.length === 0) return [];
  const rows = await q.query<{ id: string }>(
    `WITH e AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS e(id text, by_message_id boolean, status text, reason text)
     ), target AS (
       SELECT m.id, m.status AS old_status, x.status, x.reason FROM (
         SELECT x.message_id AS id, e.status, e.reason FROM message_external_ids x JOIN e ON x.provider = $2 AND x.external_id = e.id WHERE NOT e.by_message_id
         UNION ALL
         SELECT m.id, e.status, e.reason FROM messages m JOIN e ON m.id = e.id WHERE e.by_message_id
       ) x JOIN messages m ON m.id = x.id
        WHERE m.channel_id = $3
        ORDER BY m.id
        FOR UPDATE OF m
     ), u AS (
       UPDATE messages SET status = target.status, updated_at = $4
         FROM target
        WHERE messages.id = target.id AND target.old_status <> target.status
       RETURNING messages.id, target.status, target.reason
     ), ev AS (
       INSERT INTO message_events (id, message_id, type, data, inserted_at)
       SELECT gen_random_uuid(), id, 'message.' || status,
              CASE WHEN reason IS NULL THEN NULL ELSE jsonb_build_object('reason', reason, 'provider', $2::text) END, $4
         FROM u
     )
     SELECT id FROM u`,
    [JSON.stringify(updates.map((u) => ({ id: u.id, by_message_id: u.byMessageId, status: u.status, reason: u.reason }))), provider, channelId, now],
  );
  return rows.map((r) => r.id);
}
