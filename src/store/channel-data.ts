import { errors } from '../domain/errors.js';
import type { EntityKey } from '../domain/recipients.js';
import { findChannel, type ChannelRow } from './channels.js';
import type { Queryable } from './db.js';

/** One recipient's data for one channel (push tokens, Slack connections...). */
export interface ChannelDataRow {
  collection: string;
  id: string;
  channel_id: string;
  data: Record<string, unknown>;
  updated_at: Date;
}

/** Resolves a channel given by UUID or key, as every channel_id path allows; unknown → channel_invalid. */
export async function requireChannel(q: Queryable, idOrKey: string): Promise<ChannelRow> {
  const channel = await findChannel(q, idOrKey);
  if (!channel) throw errors.channelInvalid(idOrKey);
  return channel;
}

export async function getChannelData(q: Queryable, key: EntityKey, channelId: string): Promise<ChannelDataRow | null> {
  const rows = await q.query<ChannelDataRow>(
    'SELECT * FROM channel_data WHERE collection = $1 AND id = $2 AND channel_id = $3',
    [key.collection, key.id, channelId],
  );
  return rows[0] ?? null;
}

/** Every channel's data for one recipient (what channel steps need to deliver). */
export async function listChannelData(q: Queryable, key: EntityKey): Promise<ChannelDataRow[]> {
  return q.query<ChannelDataRow>(
    'SELECT * FROM channel_data WHERE collection = $1 AND id = $2 ORDER BY channel_id',
    [key.collection, key.id],
  );
}

/**
 * Replaces the recipient's data for one channel. Knock creates the user or object when it does
 * not exist yet, so the entity row is inserted first (an existing one is left untouched).
 */
export async function setChannelData(q: Queryable, key: EntityKey, channelId: string, data: Record<string, unknown>, now: Date): Promise<ChannelDataRow> {
  await q.query(
    `INSERT INTO entities (collection, id, properties, inserted_at, updated_at) VALUES ($1, $2, '{}', $3, $3)
     ON CONFLICT (collection, id) DO NOTHING`,
    [key.collection, key.id, now],
  );
  const rows = await q.query<ChannelDataRow>(
    `INSERT INTO channel_data (collection, id, channel_id, data, updated_at) VALUES ($1, $2, $3, $4::jsonb, $5)
     ON CONFLICT (collection, id, channel_id) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at
     RETURNING *`,
    [key.collection, key.id, channelId, JSON.stringify(data), now],
  );
  return rows[0];
}

/** Removes one channel's data; false when there was none. */
export async function unsetChannelData(q: Queryable, key: EntityKey, channelId: string): Promise<boolean> {
  const rows = await q.query(
    'DELETE FROM channel_data WHERE collection = $1 AND id = $2 AND channel_id = $3 RETURNING channel_id',
    [key.collection, key.id, channelId],
  );
  return rows.length > 0;
}

/**
 * Removes push tokens a provider reported invalid from one recipient's channel data (`tokens[]`
 * and `devices[]`), in one statement under the row's lock, so a concurrent identify is not lost.
 */
export async function removePushTokens(q: Queryable, key: EntityKey, channelId: string, tokens: string[], now: Date): Promise<void> {
  if (tokens.length === 0) return;
  await q.query(
    `UPDATE channel_data SET updated_at = $5, data = data
        || CASE WHEN jsonb_typeof(data->'tokens') = 'array' THEN jsonb_build_object('tokens',
             COALESCE((SELECT jsonb_agg(t) FROM jsonb_array_elements(data->'tokens') t WHERE NOT (t #>> '{}') = ANY($4::text[])), '[]'::jsonb)) ELSE '{}'::jsonb END
        || CASE WHEN jsonb_typeof(data->'devices') = 'array' THEN jsonb_build_object('devices',
             COALESCE((SELECT jsonb_agg(d) FROM jsonb_array_elements(data->'devices') d WHERE NOT COALESCE(d->>'token', '') = ANY($4::text[])), '[]'::jsonb)) ELSE '{}'::jsonb END
      WHERE collection = $1 AND id = $2 AND channel_id = $3`,
    [key.collection, key.id, channelId, tokens, now],
  );
}
