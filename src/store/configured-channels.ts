import { randomUUID } from 'node:crypto';
import type { ChannelConfig } from '../domain/channel-config.js';
import type { Queryable } from './db.js';

/**
 * Upserts the configured channels at start-up, by key, in one statement. Settings are replaced
 * wholesale (configuration is the source of truth); channels no longer configured are kept, so
 * their messages and channel data stay valid.
 */
export async function upsertChannels(q: Queryable, channels: ChannelConfig[], now: Date): Promise<void> {
  if (channels.length === 0) return;
  const rows = channels.map((c) => ({ id: randomUUID(), key: c.key, type: c.type, provider: c.provider, name: c.name ?? c.key, settings: c.settings ?? {} }));
  await q.query(
    `INSERT INTO channels (id, key, type, provider, name, settings, created_at, updated_at)
     SELECT x.id, x.key, x.type, x.provider, x.name, x.settings, $2, $2
       FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, key text, type text, provider text, name text, settings jsonb)
     ON CONFLICT (key) DO UPDATE
        SET type = EXCLUDED.type, provider = EXCLUDED.provider, name = EXCLUDED.name,
            settings = EXCLUDED.settings, updated_at = EXCLUDED.updated_at`,
    [JSON.stringify(rows), now],
  );
}
