import { randomUUID } from 'node:crypto';
import type { Queryable } from './db.js';
import { encodeCursor, decodeCursor, keysetPage } from './cursor.js';
import { errors } from '../domain/errors.js';

/**
 * Delivery jobs and their logs (migrations/013_delivery.sql). Rows are created by the run
 * checkpoint (checkpoint.ts) with their message; this module claims and settles them.
 *
 * Claim plan (EXPLAIN on PostgreSQL, 20,000 jobs): Limit -> LockRows -> Index Scan using
 * deliveries_due_idx (Index Cond: next_attempt_at <= $1). The table only holds messages still in
 * flight, so it stays small. Logs are read by message_delivery_logs_message_idx (message_id, seq).
 */
export interface ClaimedDelivery {
  message_id: string;
  attempts: number;
  channel: { id: string; key: string; type: string; provider: string; settings: Record<string, unknown>; fallbacks: { provider: string; settings?: Record<string, unknown> }[] };
  recipient: { collection: string; id: string };
  content: Record<string, unknown>;
  status: string;
  workflow_key: string;
  tenant_id: string | null;
  data: Record<string, unknown> | null;
}

/**
 * Claims up to `limit` due deliveries for `owner`: counts the attempt and pushes
 * `next_attempt_at` out by the lease, so a worker that dies mid-send leaves the job to another
 * worker once the lease ends, and no two workers hold it at once.
 */
export async function claimDueDeliveries(q: Queryable, owner: string, now: Date, leaseUntil: Date, limit: number): Promise<ClaimedDelivery[]> {
  return q.query<ClaimedDelivery>(
    `WITH due AS (
       SELECT message_id FROM deliveries WHERE next_attempt_at <= $1
        ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED
     ), d AS (
       UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = $2, lease_owner = $3
        WHERE message_id IN (SELECT message_id FROM due)
       RETURNING message_id, attempts, channel_id
     )
     SELECT d.message_id, d.attempts,
            json_build_object('id', c.id, 'key', c.key, 'type', c.type, 'provider', c.provider, 'settings', c.settings, 'fallbacks', c.fallbacks) AS channel,
            json_build_object('collection', m.recipient_collection, 'id', m.recipient_id) AS recipient,
            COALESCE(m.content, '{}'::jsonb) AS content, m.status, m.workflow_key, m.tenant_id, m.data
       FROM d JOIN messages m ON m.id = d.message_id JOIN channels c ON c.id = d.channel_id`,
    [now, leaseUntil, owner, limit],
  );
}

export interface DeliveryLogInput {
  serviceName: string;
  request: Record<string, unknown>;
  response: Record<string, unknown>;
}

export type Settlement =
  /** Finished: the message takes `status` (sent | delivered | undelivered) and the job is deleted. */
  | { kind: 'final'; status: string }
  /** Retry at `at`; the message shows `delivery_attempted` meanwhile. */
  | { kind: 'retry'; at: Date };

/** Which provider the attempt ended with (after failover) and the message's id there. */
export interface AttemptProvider {
  provider: string;
  externalId: string | null;
}

/**
 * Records one attempt in ONE statement, only while `owner` still holds the job: its log rows (one
 * per provider call), the job's end or next attempt, the provider that answered last (with the
 * message's id there when it was sent) and the message's status with an event when the status
 * changes. Returns false when the claim was lost (another worker took the job after the lease ended).
 */
export async function settleDelivery(q: Queryable, owner: string, messageId: string, attempt: number, outcome: Settlement, logs: DeliveryLogInput[], now: Date, by?: AttemptProvider): Promise<boolean> {
  const status = outcome.kind === 'final' ? outcome.status : 'delivery_attempted';
  const rows = await q.query<{ message_id: string }>(
    `WITH held AS (
       SELECT message_id FROM deliveries WHERE message_id = $1 AND lease_owner = $2 FOR UPDATE
     ), done AS (
       DELETE FROM deliveries WHERE message_id IN (SELECT message_id FROM held) AND $3::timestamptz IS NULL
       RETURNING message_id
     ), later AS (
       UPDATE deliveries SET next_attempt_at = $3, lease_owner = NULL
        WHERE message_id IN (SELECT message_id FROM held) AND $3::timestamptz IS NOT NULL
       RETURNING message_id
     ), before AS (
       SELECT id, status AS old_status FROM messages WHERE id IN (SELECT message_id FROM held)
     ), m AS (
       UPDATE messages SET status = $4,
              updated_at = CASE WHEN messages.status <> $4 THEN $5 ELSE messages.updated_at END,
              provider = COALESCE($8, messages.provider), external_id = COALESCE($9, messages.external_id)
         FROM before
        WHERE messages.id = before.id AND (before.old_status <> $4 OR $8::text IS NOT NULL)
       RETURNING messages.id, before.old_status
     ), ev AS (
       INSERT INTO message_events (id, message_id, type, inserted_at)
       SELECT gen_random_uuid(), id, 'message.' || $4, $5 FROM m WHERE old_status <> $4
     ), lg AS (
       -- seq is drawn over the calls in order, so the log lists them as they were made.
       INSERT INTO message_delivery_logs (id, message_id, attempt, service_name, request, response, inserted_at, seq)
       SELECT o.id, o.message_id, $7, o.service_name, o.request, o.response, $5, nextval('message_delivery_logs_seq_seq')
         FROM (SELECT l.*, held.message_id
                 FROM held CROSS JOIN jsonb_to_recordset($6::jsonb) AS l(id uuid, service_name text, request jsonb, response jsonb, n int)
                ORDER BY l.n) o
     )
     SELECT message_id FROM held`,
    [messageId, owner, outcome.kind === 'retry' ? outcome.at : null, status, now,
      JSON.stringify(logs.map((l, n) => ({ id: randomUUID(), service_name: l.serviceName, request: l.request, response: l.response, n }))), attempt,
      by?.provider ?? null, by?.externalId ?? null],
  );
  return rows.length > 0;
}

export interface DeliveryLogRow {
  id: string;
  message_id: string;
  attempt: number;
  service_name: string;
  request: Record<string, unknown>;
  response: Record<string, unknown>;
  inserted_at: Date;
  seq: string;
}

function readSeq(cursor: string | undefined, field: 'after' | 'before'): string | null {
  if (cursor === undefined || cursor === '') return null;
  const v = decodeCursor(cursor, 1);
  if (!v || typeof v[0] !== 'string' || !/^\d+$/.test(v[0])) {
    throw errors.invalidParams(`The "${field}" cursor is not valid.`, [{ field, message: 'is not a cursor returned by this API', type: 'invalid' }]);
  }
  return v[0];
}

/** A message's delivery logs, newest first, keyset-paged on seq. */
export async function listDeliveryLogs(q: Queryable, messageId: string, page: { after?: string; before?: string; pageSize: number }) {
  const after = readSeq(page.after, 'after');
  const before = readSeq(page.before, 'before');
  const rows = await q.query<DeliveryLogRow>(
    `SELECT id, message_id, attempt, service_name, request, response, inserted_at, seq::text AS seq
       FROM message_delivery_logs
      WHERE message_id = $1 AND ($2::bigint IS NULL OR seq < $2::bigint) AND ($3::bigint IS NULL OR seq > $3::bigint)
      ORDER BY message_delivery_logs.seq ${before ? 'ASC' : 'DESC'} LIMIT $4`,
    [messageId, after, before, page.pageSize + 1],
  );
  const cut = keysetPage(rows, page.pageSize, { after, before }, (r) => encodeCursor([r.seq]));
  return { logs: cut.items, after: cut.after, before: cut.before };
}
