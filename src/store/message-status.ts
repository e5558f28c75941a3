/**
 * Engagement-status changes on messages (single, batch and bulk by channel): each is one
 * statement that locks the matching rows, sets or clears the timestamps, and records a
 * message_events row for every message that actually changed.
 */
import { randomUUID } from 'node:crypto';
import type { EntityKey } from '../domain/recipients.js';
import type { Queryable } from './db.js';
import { Sql, applyCriteria, getMessages, type MessageCriteria, type MessageRow } from './messages.js';
import { deleteExternalIdsSql } from './message-external-ids.js';

export type StatusAction = 'seen' | 'unseen' | 'read' | 'unread' | 'archived' | 'unarchived' | 'interacted';

interface ActionSql {
  /** SET list; `$now` and `$meta` are substituted with the bound parameter markers. */
  set: string;
  /** Which locked rows actually change (over the pre-update row `o`). */
  changes: string;
  /** Events to write, each with the condition (over `o`) under which it happened. */
  events: { type: string; when: string; withMetadata?: boolean }[];
}

const timestampAction = (column: string, on: boolean, event: string): ActionSql => ({
  // COALESCE keeps the first time a status was set; repeating the call is a no-op.
  set: on ? `${column} = COALESCE(m.${column}, $now)` : `${column} = NULL`,
  changes: on ? `o.${column} IS NULL` : `o.${column} IS NOT NULL`,
  events: [{ type: event, when: 'true' }],
});

const ACTIONS: Record<StatusAction, ActionSql> = {
  seen: timestampAction('seen_at', true, 'message.seen'),
  unseen: timestampAction('seen_at', false, 'message.unseen'),
  read: timestampAction('read_at', true, 'message.read'),
  unread: timestampAction('read_at', false, 'message.unread'),
  archived: timestampAction('archived_at', true, 'message.archived'),
  unarchived: timestampAction('archived_at', false, 'message.unarchived'),
  // An interaction implies the message was read. Each interaction that carries metadata is
  // recorded (a second button click is news); its metadata is merged into the message's.
  interacted: {
    set: `interacted_at = COALESCE(m.interacted_at, $now), read_at = COALESCE(m.read_at, $now),
          metadata = CASE WHEN $meta IS NULL THEN m.metadata ELSE COALESCE(m.metadata, '{}'::jsonb) || $meta END`,
    changes: 'o.interacted_at IS NULL OR o.read_at IS NULL OR $meta IS NOT NULL',
    events: [
      { type: 'message.interacted', when: 'o.interacted_at IS NULL OR $meta IS NOT NULL', withMetadata: true },
      { type: 'message.read', when: 'o.read_at IS NULL' },
    ],
  },
};

export interface StatusChangeResult {
  /** Messages matching the criteria (already in the target state included). */
  matched: number;
  /** Messages whose state changed (each got its events). */
  changed: number;
}

/**
 * Applies a status action to every message matching `criteria` in ONE statement: lock the
 * matching rows, update those whose state changes, and write one message_events row per
 * change. Locking first means two concurrent "mark seen" calls produce one event, not two.
 */
export async function applyStatusAction(
  q: Queryable,
  criteria: MessageCriteria,
  action: StatusAction,
  opts: { now: Date; metadata?: Record<string, unknown> | null },
): Promise<StatusChangeResult> {
  const s = new Sql();
  applyCriteria(s, criteria);
  const now = `${s.p(opts.now)}::timestamptz`;
  // Only bind what the statement uses: PostgreSQL rejects parameters it never sees.
  const meta = opts.metadata ? `${s.p(JSON.stringify(opts.metadata))}::jsonb` : 'NULL::jsonb';
  const sub = (sql: string) => sql.replaceAll('$now', () => now).replaceAll('$meta', () => meta);
  const spec = ACTIONS[action];
  const flags = spec.events.map((e, i) => `(${sub(e.when)}) AS e${i}`).join(', ');
  const inserts = spec.events.map((e, i) =>
    `SELECT gen_random_uuid(), u.id, '${e.type}', ${e.withMetadata ? `CASE WHEN ${meta} IS NULL THEN NULL ELSE jsonb_build_object('metadata', ${meta}) END` : 'NULL::jsonb'}, ${now}
     FROM upd u WHERE u.e${i}`).join(' UNION ALL ');
  const rows = await q.query<{ matched: number; changed: number }>(
    `WITH o AS (
       SELECT m.id, m.seen_at, m.read_at, m.interacted_at, m.archived_at FROM messages m ${s.where()} FOR UPDATE
     ), upd AS (
       UPDATE messages m SET ${sub(spec.set)}, updated_at = ${now}
       FROM o WHERE m.id = o.id AND (${sub(spec.changes)})
       RETURNING m.id, ${flags}
     ), ev AS (
       INSERT INTO message_events (id, message_id, type, data, inserted_at) ${inserts}
     )
     SELECT (SELECT count(*) FROM o)::int AS matched, (SELECT count(*) FROM upd)::int AS changed`,
    s.params,
  );
  return rows[0];
}

/** Marks the given messages and returns them as they now are (in the order given). */
export async function setMessagesStatus(
  q: Queryable,
  ids: string[],
  action: StatusAction,
  opts: { now: Date; metadata?: Record<string, unknown> | null; recipient?: EntityKey },
): Promise<MessageRow[]> {
  if (ids.length === 0) return [];
  await applyStatusAction(q, { messageIds: ids, recipients: opts.recipient ? [opts.recipient] : undefined }, action, opts);
  return getMessages(q, ids, opts.recipient);
}

/** Deletes the matching messages (their events go with them); returns how many. */
export async function deleteMessages(q: Queryable, criteria: MessageCriteria): Promise<number> {
  const s = new Sql();
  applyCriteria(s, criteria);
  const rows = await q.query<{ n: number }>(
    // No foreign keys cascade from messages (migrations/015): the children go in the same statement.
    `WITH d AS (DELETE FROM messages m ${s.where()} RETURNING m.id, m.provider, m.external_id),
          x AS (${deleteExternalIdsSql('d')}),
          e AS (DELETE FROM message_events WHERE message_id IN (SELECT id FROM d)),
          j AS (DELETE FROM deliveries WHERE message_id IN (SELECT id FROM d)),
          l AS (DELETE FROM message_delivery_logs WHERE message_id IN (SELECT id FROM d))
     SELECT count(*)::int AS n FROM d`,
    s.params,
  );
  return rows[0].n;
}

export type BulkAction = StatusAction | 'archive' | 'unarchive' | 'delete';

export interface BulkResult extends StatusChangeResult {
  id: string;
}

/** The bulk endpoint's `archive`/`unarchive` are the same as `archived`/`unarchived`. */
export async function bulkUpdateMessages(q: Queryable, criteria: MessageCriteria, action: BulkAction, now: Date): Promise<BulkResult> {
  const id = randomUUID();
  if (action === 'delete') {
    const n = await deleteMessages(q, criteria);
    return { id, matched: n, changed: n };
  }
  const status: StatusAction = action === 'archive' ? 'archived' : action === 'unarchive' ? 'unarchived' : action;
  return { id, ...(await applyStatusAction(q, criteria, status, { now })) };
}

