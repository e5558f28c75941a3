import type { Queryable } from './db.js';

export interface ChannelRow {
  id: string;
  key: string;
  type: string;
  provider: string;
  name: string;
  created_at: Date;
  updated_at: Date;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Every path that takes a channel_id accepts the channel's UUID or its key. */
export async function findChannel(db: Queryable, idOrKey: string): Promise<ChannelRow | null> {
  const rows = UUID_RE.test(idOrKey)
    ? await db.query<ChannelRow>('SELECT * FROM channels WHERE id = $1', [idOrKey])
    : await db.query<ChannelRow>('SELECT * FROM channels WHERE key = $1', [idOrKey]);
  return rows[0] ?? null;
}

export async function listChannels(db: Queryable): Promise<ChannelRow[]> {
  return db.query<ChannelRow>('SELECT * FROM channels ORDER BY key');
}
