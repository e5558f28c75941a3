/**
 * The dashboard's message list: the public API's criteria (messages.ts applyCriteria) plus a
 * channel type, newest first, keyset-paged over (inserted_at, id) on messages_list_idx (or
 * messages_feed_idx with a recipient).
 */
import type { Queryable } from './db.js';
import { encodeCursor, keysetPage, readTimeIdCursor } from './cursor.js';
import { applyCriteria, Sql, type MessageCriteria, type MessageRow } from './messages.js';

const SELECT = `SELECT m.*,
  (SELECT json_build_object('id', c.id, 'key', c.key, 'type', c.type, 'provider', c.provider, 'name', c.name,
                            'created_at', c.created_at, 'updated_at', c.updated_at)
   FROM channels c WHERE c.id = m.channel_id) AS channel
FROM messages m`;

export async function listDashboardMessages(q: Queryable, criteria: MessageCriteria & { channelType?: string }, page: { after?: string; pageSize: number }) {
  const s = new Sql();
  applyCriteria(s, criteria);
  // Channels are few: the type becomes a list of channel ids.
  if (criteria.channelType) s.and(`m.channel_id IN (SELECT id FROM channels WHERE type = ${s.p(criteria.channelType)})`);
  const after = readTimeIdCursor(page.after, 'after');
  if (after) s.and(`(m.inserted_at, m.id) < (${s.p(after[0])}::timestamptz, ${s.p(after[1])})`);
  const rows = await q.query<MessageRow>(`${SELECT} ${s.where()} ORDER BY m.inserted_at DESC, m.id DESC LIMIT ${s.p(page.pageSize + 1)}`, s.params);
  const cut = keysetPage(rows, page.pageSize, { after, before: null }, (m) => encodeCursor([m.inserted_at, m.id]));
  return { messages: cut.items, after: cut.after };
}

/** Messages a run created (messages_run_step_idx). */
export async function messagesOfRun(q: Queryable, runId: string): Promise<MessageRow[]> {
  return q.query<MessageRow>(`${SELECT} WHERE m.recipient_run_id = $1 ORDER BY m.inserted_at, m.id`, [runId]);
}
