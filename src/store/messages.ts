/**
 * Messages as Knock's Messages API reads them: filtered, keyset-paginated lists, single
 * messages and their events. Status changes live in message-status.ts, feeds in feed.ts; both
 * build on the criteria and SQL builder exported here.
 *
 * Query plans (PostgreSQL 15, 50k messages over 500 recipients, ANALYZEd):
 * - feed page: `Limit -> Index Scan using messages_feed_idx` with
 *   `Index Cond: (recipient_collection, recipient_id, channel_id) = (...) AND (ROW(inserted_at, id) < ROW(...))`,
 *   the other filters applied as a `Filter` on that ordered scan; no Sort node.
 * - feed counts: `Aggregate -> Index Scan using messages_feed_idx` on the same three columns.
 * - GET /v1/messages: `Limit -> Index Scan using messages_list_idx`, filters as a `Filter`, no Sort.
 * - GET /v1/users/:id/messages (no channel): `Limit -> Sort -> Index Scan using messages_feed_idx`
 *   over that one recipient's rows, which is small; with `channel_id` it is the feed plan.
 * - bulk mark-all for one user: `LockRows -> Index Scan using messages_feed_idx`, then the
 *   update joins the locked rows by messages_pkey.
 */
import { errors } from '../domain/errors.js';
import type { EntityKey } from '../domain/recipients.js';
import type { TenantScope } from '../domain/user-grants.js';
import { decodeCursor, encodeCursor, keysetPage, readTimeIdCursor } from './cursor.js';
import type { Queryable } from './db.js';

export interface MessageChannel {
  id: string;
  key: string;
  type: string;
  provider: string;
  name: string;
  created_at: string;
  updated_at: string;
}

export interface MessageRow {
  id: string;
  channel_id: string;
  recipient_collection: string;
  recipient_id: string;
  workflow_key: string;
  workflow_sha: string | null;
  categories: string[];
  workflow_run_id: string | null;
  recipient_run_id: string | null;
  step_ref: string | null;
  tenant_id: string | null;
  actors: unknown[];
  status: string;
  data: Record<string, unknown> | null;
  content: Record<string, unknown> | null;
  metadata: Record<string, unknown> | null;
  seen_at: Date | null;
  read_at: Date | null;
  interacted_at: Date | null;
  link_clicked_at: Date | null;
  archived_at: Date | null;
  inserted_at: Date;
  updated_at: Date;
  /** Set when the message follows a batch step. */
  batch_id: string | null;
  total_activities: number | null;
  total_actors: number | null;
  /** The provider that sent it (after failover) and the message's id there; null until sent. */
  provider: string | null;
  external_id: string | null;
  /** The message's channel, joined so serializing needs no second query. */
  channel: MessageChannel;
}

export type EngagementFilter = 'seen' | 'unseen' | 'read' | 'unread' | 'archived' | 'unarchived' | 'link_clicked' | 'interacted';

const ENGAGEMENT_SQL: Record<EngagementFilter, string> = {
  seen: 'm.seen_at IS NOT NULL',
  unseen: 'm.seen_at IS NULL',
  read: 'm.read_at IS NOT NULL',
  unread: 'm.read_at IS NULL',
  archived: 'm.archived_at IS NOT NULL',
  unarchived: 'm.archived_at IS NULL',
  link_clicked: 'm.link_clicked_at IS NOT NULL',
  interacted: 'm.interacted_at IS NOT NULL',
};

export interface InsertedAtRange {
  gt?: Date;
  gte?: Date;
  lt?: Date;
  lte?: Date;
}

/** Every way Herald narrows a set of messages; lists, feeds and bulk updates all compile to it. */
export interface MessageCriteria {
  recipients?: EntityKey[];
  channelId?: string;
  tenants?: string[];
  hasTenant?: boolean;
  workflows?: string[];
  /** Delivery statuses, any of. */
  statuses?: string[];
  excludeStatuses?: string[];
  /** Engagement states, any of (message list `engagement_status[]`). */
  engagementAny?: EngagementFilter[];
  /** Engagement states, all of (feed `status` + `archived`, bulk filters). */
  engagementAll?: EngagementFilter[];
  messageIds?: string[];
  /** Workflow categories, any overlap. */
  categories?: string[];
  workflowRunId?: string;
  recipientRunId?: string;
  /** Flat key/values that must all equal the message's data. */
  triggerData?: Record<string, unknown>;
  insertedAt?: InsertedAtRange;
  /** A user token's tenant grants: only these tenants (and, with includeNone, no tenant). */
  tenantScope?: TenantScope;
}

/** Collects parameterised clauses; `p(value)` binds a value and returns its parameter marker ($n). */
export class Sql {
  readonly params: unknown[] = [];
  private readonly clauses: string[] = [];
  readonly p = (value: unknown): string => {
    this.params.push(value);
    return `$${this.params.length}`;
  };
  and(clause: string): void { this.clauses.push(clause); }
  where(): string { return this.clauses.length ? `WHERE ${this.clauses.join(' AND ')}` : ''; }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function applyCriteria(s: Sql, c: MessageCriteria): void {
  const { p } = s;
  // The recipient and channel come first: they are the leading columns of messages_feed_idx.
  if (c.recipients?.length === 1) {
    s.and(`m.recipient_collection = ${p(c.recipients[0].collection)} AND m.recipient_id = ${p(c.recipients[0].id)}`);
  } else if (c.recipients) {
    s.and(`(m.recipient_collection, m.recipient_id) IN (SELECT * FROM unnest(${p(c.recipients.map((r) => r.collection))}::text[], ${p(c.recipients.map((r) => r.id))}::text[]))`);
  }
  if (c.channelId) s.and(`m.channel_id = ${p(c.channelId)}::uuid`);
  if (c.tenants) s.and(`m.tenant_id = ANY(${p(c.tenants)}::text[])`);
  if (c.tenantScope) s.and(`(m.tenant_id = ANY(${p(c.tenantScope.tenants)}::text[])${c.tenantScope.includeNone ? ' OR m.tenant_id IS NULL' : ''})`);
  if (c.hasTenant !== undefined) s.and(c.hasTenant ? 'm.tenant_id IS NOT NULL' : 'm.tenant_id IS NULL');
  if (c.workflows) s.and(`m.workflow_key = ANY(${p(c.workflows)}::text[])`);
  if (c.statuses) s.and(`m.status = ANY(${p(c.statuses)}::text[])`);
  if (c.excludeStatuses) s.and(`m.status <> ALL(${p(c.excludeStatuses)}::text[])`);
  if (c.engagementAny?.length) s.and(`(${c.engagementAny.map((e) => ENGAGEMENT_SQL[e]).join(' OR ')})`);
  for (const e of c.engagementAll ?? []) s.and(ENGAGEMENT_SQL[e]);
  if (c.messageIds) s.and(`m.id = ANY(${p(c.messageIds)}::text[])`);
  if (c.categories?.length) s.and(`m.categories ?| ${p(c.categories)}::text[]`);
  // A malformed UUID can match nothing; comparing it would be a SQL error instead.
  if (c.workflowRunId !== undefined) s.and(UUID_RE.test(c.workflowRunId) ? `m.workflow_run_id = ${p(c.workflowRunId)}::uuid` : 'false');
  if (c.recipientRunId !== undefined) s.and(UUID_RE.test(c.recipientRunId) ? `m.recipient_run_id = ${p(c.recipientRunId)}::uuid` : 'false');
  if (c.triggerData) s.and(`m.data @> ${p(JSON.stringify(c.triggerData))}::jsonb`);
  const r = c.insertedAt;
  if (r?.gt) s.and(`m.inserted_at > ${p(r.gt)}::timestamptz`);
  if (r?.gte) s.and(`m.inserted_at >= ${p(r.gte)}::timestamptz`);
  if (r?.lt) s.and(`m.inserted_at < ${p(r.lt)}::timestamptz`);
  if (r?.lte) s.and(`m.inserted_at <= ${p(r.lte)}::timestamptz`);
}

/** `trigger_data` arrives as a JSON string of flat key/values; anything else is a 422. */
export function parseTriggerData(raw: string | undefined, field = 'trigger_data'): Record<string, unknown> | undefined {
  if (raw === undefined || raw === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const flat = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    && Object.values(parsed).every((v) => v === null || typeof v !== 'object');
  if (!flat) {
    throw errors.invalidParams(`"${field}" must be a JSON object of scalar values.`, [{ field, message: 'must be a JSON object of scalar values', type: 'invalid' }]);
  }
  return parsed as Record<string, unknown>;
}

// The channel is a scalar subquery so it is evaluated for returned rows only and never changes
// the plan of the filtered, ordered scan over messages.
const SELECT_MESSAGE = `SELECT m.*,
  (SELECT json_build_object('id', c.id, 'key', c.key, 'type', c.type, 'provider', c.provider, 'name', c.name,
                            'created_at', c.created_at, 'updated_at', c.updated_at)
   FROM channels c WHERE c.id = m.channel_id) AS channel
FROM messages m`;

export interface PageOptions {
  after?: string;
  before?: string;
  pageSize: number;
}

export interface MessagePage {
  messages: MessageRow[];
  after: string | null;
  before: string | null;
}


export const messageCursor = (m: Pick<MessageRow, 'inserted_at' | 'id'>) => encodeCursor([m.inserted_at, m.id]);

/** Newest first, keyset-paginated over (inserted_at, id); `before` pages towards newer rows. */
export async function listMessages(q: Queryable, criteria: MessageCriteria, page: PageOptions): Promise<MessagePage> {
  const s = new Sql();
  applyCriteria(s, criteria);
  const after = readTimeIdCursor(page.after, 'after');
  const before = readTimeIdCursor(page.before, 'before');
  if (after) s.and(`(m.inserted_at, m.id) < (${s.p(after[0])}::timestamptz, ${s.p(after[1])})`);
  if (before) s.and(`(m.inserted_at, m.id) > (${s.p(before[0])}::timestamptz, ${s.p(before[1])})`);
  // Paging backwards reads the index the other way and flips the page back to newest first.
  const order = before ? 'ASC' : 'DESC';
  const rows = await q.query<MessageRow>(
    `${SELECT_MESSAGE} ${s.where()} ORDER BY m.inserted_at ${order}, m.id ${order} LIMIT ${s.p(page.pageSize + 1)}`,
    s.params,
  );
  const cut = keysetPage(rows, page.pageSize, { after, before }, messageCursor);
  return { messages: cut.items, after: cut.after, before: cut.before };
}

export async function getMessage(q: Queryable, id: string, recipient?: EntityKey): Promise<MessageRow | null> {
  return (await getMessages(q, [id], recipient))[0] ?? null;
}

/** The messages with these ids, in the order given; unknown (or out-of-scope) ids are skipped. */
export async function getMessages(q: Queryable, ids: string[], recipient?: EntityKey): Promise<MessageRow[]> {
  if (ids.length === 0) return [];
  const s = new Sql();
  applyCriteria(s, { messageIds: ids, recipients: recipient ? [recipient] : undefined });
  const rows = await q.query<MessageRow>(`${SELECT_MESSAGE} ${s.where()}`, s.params);
  const byId = new Map(rows.map((r) => [r.id, r]));
  return [...new Set(ids)].flatMap((id) => byId.get(id) ?? []);
}

export interface MessageEventRow {
  id: string;
  message_id: string;
  type: string;
  data: Record<string, unknown> | null;
  inserted_at: Date;
  /** bigserial as text: PGlite and node-postgres disagree on int8, text is exact on both. */
  seq: string;
}

export interface EventPage {
  events: MessageEventRow[];
  after: string | null;
  before: string | null;
}

function readSeqCursor(cursor: string | undefined, field: 'after' | 'before'): string | null {
  if (cursor === undefined || cursor === '') return null;
  const v = decodeCursor(cursor, 1);
  if (!v || typeof v[0] !== 'string' || !/^\d+$/.test(v[0])) {
    throw errors.invalidParams(`The "${field}" cursor is not valid.`, [{ field, message: 'is not a cursor returned by this API', type: 'invalid' }]);
  }
  return v[0];
}

/** A message's events, newest first; `seq` orders events written in the same instant. */
export async function listMessageEvents(q: Queryable, messageId: string, page: PageOptions): Promise<EventPage> {
  const s = new Sql();
  s.and(`message_id = ${s.p(messageId)}`);
  const after = readSeqCursor(page.after, 'after');
  const before = readSeqCursor(page.before, 'before');
  if (after) s.and(`seq < ${s.p(after)}::bigint`);
  if (before) s.and(`seq > ${s.p(before)}::bigint`);
  const order = before ? 'ASC' : 'DESC';
  const rows = await q.query<MessageEventRow>(
    `SELECT id, message_id, type, data, inserted_at, seq::text AS seq FROM message_events ${s.where()}
     ORDER BY message_events.seq ${order} LIMIT ${s.p(page.pageSize + 1)}`,
    s.params,
  );
  const cut = keysetPage(rows, page.pageSize, { after, before }, (e) => encodeCursor([e.seq]));
  return { events: cut.items, after: cut.after, before: cut.before };
}
