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

/** A channel with its provider settings, for the management API (which masks the secrets). */
export interface ChannelWithSettingsRow extends ChannelRow {
  settings: Record<string, unknown>;
}

const SETTINGS_COLUMNS = 'id, key, type, provider, name, settings, created_at, updated_at';

/** A page of channels by key, optionally only the one with `id`. */
export async function listChannelsWithSettings(db: Queryable, page: { after?: string; limit: number; id?: string }): Promise<ChannelWithSettingsRow[]> {
  return db.query<ChannelWithSettingsRow>(
    `SELECT ${SETTINGS_COLUMNS} FROM channels WHERE key > $1 AND ($2::uuid IS NULL OR id = $2::uuid) ORDER BY key LIMIT $3`,
    [page.after ?? '', page.id ?? null, page.limit],
  );
}

/** Channels by key with their provider settings (one environment's store). */
export async function findChannelsWithSettings(db: Queryable, keys: readonly string[]): Promise<ChannelWithSettingsRow[]> {
  if (keys.length === 0) return [];
  return db.query<ChannelWithSettingsRow>(`SELECT ${SETTINGS_COLUMNS} FROM channels WHERE key = ANY($1::text[]) ORDER BY key`, [keys]);
}
