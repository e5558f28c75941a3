/**
 * Engagement recorded by email tracking (src/tracking): a link click and an open. Each is one
 * statement that sets the timestamp once (the first time counts, as for every engagement
 * status) and writes the message events of what changed, like message-status.ts does.
 */
import type { Queryable } from './db.js';

export interface TrackedMessage {
  id: string;
}

/**
 * A click on a tracked link: `link_clicked_at` is set on the first click, and a
 * `message.link_clicked` event with `{url, link_index}` is written for the first click of each
 * link (a second click of the same link, or a mail scanner fetching every link twice, adds
 * nothing; the events of one message are bounded by its links — two clicks of one link in the
 * same instant may each write one, which is harmless). Null when the message does not exist
 * (deleted by retention, for instance).
 */
export async function recordLinkClick(q: Queryable, messageId: string, link: { url: string; index: number }, now: Date): Promise<TrackedMessage | null> {
  const rows = await q.query<{ id: string }>(
    `WITH o AS (
       SELECT m.id FROM messages m WHERE m.id = $1 FOR UPDATE
     ), upd AS (
       UPDATE messages m SET link_clicked_at = COALESCE(m.link_clicked_at, $2), updated_at = $2
        FROM o WHERE m.id = o.id
       RETURNING m.id
     ), ev AS (
       INSERT INTO message_events (id, message_id, type, data, inserted_at)
       SELECT gen_random_uuid(), u.id, 'message.link_clicked', jsonb_build_object('url', $3::text, 'link_index', $4::int), $2
         FROM upd u
        WHERE NOT EXISTS (SELECT 1 FROM message_events e
                           WHERE e.message_id = u.id AND e.type = 'message.link_clicked' AND e.data->>'url' = $3::text)
     )
     SELECT id FROM upd`,
    [messageId, now, link.url, link.index],
  );
  return rows[0] ?? null;
}

/**
 * An open (the open pixel was fetched): the message becomes `seen` and `read` (Knock's
 * `read_at` is "marked read or opened"), each once, with `message.seen` / `message.read`
 * events only for what changed. Null when the message does not exist.
 */
export async function recordOpen(q: Queryable, messageId: string, now: Date): Promise<TrackedMessage | null> {
  const rows = await q.query<{ id: string }>(
    `WITH o AS (
       SELECT m.id, m.seen_at, m.read_at FROM messages m WHERE m.id = $1 FOR UPDATE
     ), upd AS (
       UPDATE messages m SET seen_at = COALESCE(m.seen_at, $2), read_at = COALESCE(m.read_at, $2), updated_at = $2
         FROM o WHERE m.id = o.id AND (o.seen_at IS NULL OR o.read_at IS NULL)
       RETURNING m.id, o.seen_at IS NULL AS new_seen, o.read_at IS NULL AS new_read
     ), ev AS (
       INSERT INTO message_events (id, message_id, type, data, inserted_at)
       SELECT gen_random_uuid(), u.id, 'message.seen', NULL::jsonb, $2 FROM upd u WHERE u.new_seen
       UNION ALL
       SELECT gen_random_uuid(), u.id, 'message.read', NULL::jsonb, $2 FROM upd u WHERE u.new_read
     )
     SELECT id FROM o`,
    [messageId, now],
  );
  return rows[0] ?? null;
}
