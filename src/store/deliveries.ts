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

/** One attempt's outcome, as the delivery task settles it. */
export interface SettleInput {
  messageId: string;
  /** The attempt the claim counted (deliveries.attempts after the claim). */
  attempt: number;
  outcome: Settlement;
  logs: DeliveryLogInput[];
  now: Date;
  by?: AttemptProvider;
}

/**
 * Records many attempts in ONE statement, each only while `owner` still holds its job at the
 * attempt it claimed: their log rows (one per provider call, seq drawn in call order), each job's
 * end or next attempt, the provider that answered last (with the message's id there when it was
 * sent) and each message's status with an event when the status changes. Returns the message ids
 * whose claim was still held; the others were lost (another worker took the job after the lease
 * ended) and nothing was written for them.
 *
 * The job rows are deleted (final) or rescheduled (retry) only where `owner` still holds them at
 * the attempt it claimed, and those rows are what counts as held: no separate row lock is taken
 * first (a `FOR UPDATE` wrote every job row once more before changing it).
 *
 * The statement's shape does not depend on how many outcomes it carries: one jsonb parameter is
 * unpacked with jsonb_to_recordset, so a batch of 1 or 500 is the same parsed statement. Rows of
 * `deliveries` and `messages` are keyed by primary key (message_id / id), and the only rows locked
 * are this owner's own deliveries, so two processes settling at once never wait on each other.
 * Prepared: its parameters are the owner and one JSON document and every row is reached by
 * primary key, so the generic plan is the custom plan, and planning it on every settle cost
 * PostgreSQL more than a fifth of the statement (0.28 ms against 0.6 ms executing, for ~13
 * outcomes). Plans cached while the tables were small are replanned when Herald re-analyzes them
 * (table-stats.ts; test/integration/sequential-scans.test.ts).
 */
export async function settleDeliveries(q: Queryable, owner: string, items: SettleInput[]): Promise<Set<string>> {
  if (items.length === 0) return new Set();
  const input = items.map((it, ord) => ({
    ord,
    message_id: it.messageId,
    attempt: it.attempt,
    retry_at: it.outcome.kind === 'retry' ? it.outcome.at.toISOString() : null,
    status: it.outcome.kind === 'final' ? it.outcome.status : 'delivery_attempted',
    provider: it.by?.provider ?? null,
    external_id: it.by?.externalId ?? null,
    at: it.now.toISOString(),
    logs: it.logs.map((l, n) => ({ service_name: l.serviceName, request: l.request, response: l.response, n })),
  }));
  const rows = await q.query<{ message_id: string }>(
    `WITH i AS (
       SELECT * FROM jsonb_to_recordset($2::jsonb) AS i(ord int, message_id text, attempt int, retry_at timestamptz, status text,
                                                         provider text, external_id text, at timestamptz, logs jsonb)
     ), done AS (
       DELETE FROM deliveries d USING i
        WHERE d.message_id = i.message_id AND d.lease_owner = $1 AND d.attempts = i.attempt AND i.retry_at IS NULL
       RETURNING d.message_id
     ), later AS (
       UPDATE deliveries d SET next_attempt_at = i.retry_at, lease_owner = NULL
         FROM i WHERE d.message_id = i.message_id AND d.lease_owner = $1 AND d.attempts = i.attempt AND i.retry_at IS NOT NULL
       RETURNING d.message_id
     ), h AS (
       -- The held claims are the rows the DELETE / UPDATE took: each re-checks owner and attempt
       -- on the row's latest version if another worker claimed it meanwhile, and skips it then.
       SELECT i.* FROM i WHERE i.message_id IN (SELECT message_id FROM done UNION ALL SELECT message_id FROM later)
     ), before AS (
       SELECT m.id, m.status AS old_status, h.status, h.provider, h.external_id, h.at
         FROM messages m JOIN h ON m.id = h.message_id
     ), m AS (
       UPDATE messages SET status = b.status,
              updated_at = CASE WHEN messages.status <> b.status THEN b.at ELSE messages.updated_at END,
              provider = COALESCE(b.provider, messages.provider), external_id = COALESCE(b.external_id, messages.external_id)
         FROM before b
        WHERE messages.id = b.id AND (b.old_status <> b.status OR b.provider IS NOT NULL)
       RETURNING messages.id, b.old_status, b.status, b.at
     ), xi AS (
       -- The provider's id for the message, for its status webhooks (message-external-ids.ts):
       -- kept out of \`messages\`' indexes so the update above stays HOT.
       INSERT INTO message_external_ids (provider, external_id, message_id)
       SELECT provider, external_id, id FROM before WHERE provider IS NOT NULL AND external_id IS NOT NULL
       ON CONFLICT DO NOTHING
     ), ev AS (
       INSERT INTO message_events (id, message_id, type, inserted_at)
       SELECT gen_random_uuid(), id, 'message.' || status, at FROM m WHERE old_status <> status
     ), lg AS (
       -- seq is drawn over the calls in order, so each message's log lists them as they were made.
       INSERT INTO message_delivery_logs (id, message_id, attempt, service_name, request, response, inserted_at, seq)
       SELECT gen_random_uuid(), o.message_id, o.attempt, o.service_name, o.request, o.response, o.at, nextval('message_delivery_logs_seq_seq')
         FROM (SELECT h.message_id, h.attempt, h.at, l.service_name, l.request, l.response
                 FROM h CROSS JOIN LATERAL jsonb_to_recordset(h.logs) AS l(service_name text, request jsonb, response jsonb, n int)
                ORDER BY h.ord, l.n) o
     )
     SELECT message_id FROM h`,
    [owner, JSON.stringify(input)],
    { prepare: true },
  );
  return new Set(rows.map((r) => r.message_id));
}

/** One attempt settled on its own (settleDeliveries with one outcome); false when the claim was lost. */
export async function settleDelivery(q: Queryable, owner: string, messageId: string, attempt: number, outcome: Settlement, logs: DeliveryLogInput[], now: Date, by?: AttemptProvider): Promise<boolean> {
  const held = await settleDeliveries(q, owner, [{ messageId, attempt, outcome, logs, now, by }]);
  return held.has(messageId);
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
