import { randomUUID } from 'node:crypto';
import type { ChannelConfig, ChannelGroupConfig, EmailLayoutConfig } from '../domain/channel-config.js';
import type { Queryable } from './db.js';

/**
 * Upserts the configured channels at start-up, by key, in one statement. Settings and fallbacks
 * are replaced wholesale (configuration is the source of truth); channels no longer configured
 * are kept, so their messages and channel data stay valid.
 */
export async function upsertChannels(q: Queryable, channels: ChannelConfig[], now: Date): Promise<void> {
  if (channels.length === 0) return;
  const rows = channels.map((c) => ({ id: randomUUID(), key: c.key, type: c.type, provider: c.provider, name: c.name ?? c.key, settings: c.settings ?? {}, fallbacks: c.fallbacks ?? [] }));
  await q.query(
    `INSERT INTO channels (id, key, type, provider, name, settings, fallbacks, created_at, updated_at)
     SELECT x.id, x.key, x.type, x.provider, x.name, x.settings, x.fallbacks, $2, $2
       FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, key text, type text, provider text, name text, settings jsonb, fallbacks jsonb)
     ON CONFLICT (key) DO UPDATE
        SET type = EXCLUDED.type, provider = EXCLUDED.provider, name = EXCLUDED.name,
            settings = EXCLUDED.settings, fallbacks = EXCLUDED.fallbacks, updated_at = EXCLUDED.updated_at`,
    [JSON.stringify(rows), now],
  );
}

/**
 * Upserts the configured channel groups by key (configured groups no longer configured are
 * removed). A group written through the management API (source 'api') is the API's: the
 * configuration neither replaces nor removes it.
 */
export async function upsertChannelGroups(q: Queryable, groups: ChannelGroupConfig[], now: Date): Promise<void> {
  const rows = groups.map((g) => ({ key: g.key, channel_type: g.channel_type ?? null, mode: g.mode, channel_keys: g.channels }));
  await q.query(
    `WITH x AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(key text, channel_type text, mode text, channel_keys jsonb)
     ), gone AS (
       DELETE FROM channel_groups WHERE source = 'config' AND key NOT IN (SELECT key FROM x)
     )
     INSERT INTO channel_groups (key, channel_type, mode, channel_keys, updated_at, created_at, source)
     SELECT key, channel_type, mode, channel_keys, $2, $2, 'config' FROM x
     ON CONFLICT (key) DO UPDATE
        SET channel_type = EXCLUDED.channel_type, mode = EXCLUDED.mode, channel_keys = EXCLUDED.channel_keys, updated_at = EXCLUDED.updated_at
      WHERE channel_groups.source = 'config'`,
    [JSON.stringify(rows), now],
  );
}

/**
 * Upserts the configured email layouts by key (configured layouts no longer configured are
 * removed). A layout managed through the management API (source 'api') is the API's: the
 * configuration neither replaces nor removes it.
 */
export async function upsertEmailLayouts(q: Queryable, layouts: EmailLayoutConfig[], now: Date): Promise<void> {
  const rows = layouts.map((l) => ({ key: l.key, html_layout: l.html_layout ?? null, text_layout: l.text_layout ?? null }));
  await q.query(
    `WITH x AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(key text, html_layout text, text_layout text)
     ), gone AS (
       DELETE FROM email_layouts WHERE source = 'config' AND key NOT IN (SELECT key FROM x)
     )
     INSERT INTO email_layouts (key, html_layout, text_layout, updated_at, created_at, source)
     SELECT key, html_layout, text_layout, $2, $2, 'config' FROM x
     ON CONFLICT (key) DO UPDATE
        SET html_layout = EXCLUDED.html_layout, text_layout = EXCLUDED.text_layout, updated_at = EXCLUDED.updated_at
      WHERE email_layouts.source = 'config'`,
    [JSON.stringify(rows), now],
  );
}

/** An email layout with what the management API shows of it. */
export interface ManagedEmailLayoutRow {
  key: string;
  name: string | null;
  html_layout: string | null;
  text_layout: string | null;
  footer_links: { text: string; url: string }[] | null;
  source: 'config' | 'api';
  sha: string | null;
  created_at: Date | null;
  updated_at: Date;
}

const LAYOUT_COLUMNS = 'key, name, html_layout, text_layout, footer_links, source, sha, created_at, updated_at';

/** Makes `layout` the committed layout of its key, owned by the API from then on. */
export async function upsertManagedEmailLayout(q: Queryable, layout: { key: string; name: string; html_layout: string; text_layout: string; footer_links: { text: string; url: string }[] | null; sha: string }, now: Date): Promise<ManagedEmailLayoutRow> {
  const rows = await q.query<ManagedEmailLayoutRow>(
    `INSERT INTO email_layouts (key, name, html_layout, text_layout, footer_links, source, sha, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5::jsonb, 'api', $6, $7, $7)
     ON CONFLICT (key) DO UPDATE
        SET name = EXCLUDED.name, html_layout = EXCLUDED.html_layout, text_layout = EXCLUDED.text_layout,
            footer_links = EXCLUDED.footer_links, source = 'api', sha = EXCLUDED.sha, updated_at = EXCLUDED.updated_at,
            created_at = COALESCE(email_layouts.created_at, EXCLUDED.created_at)
     RETURNING ${LAYOUT_COLUMNS}`,
    [layout.key, layout.name, layout.html_layout, layout.text_layout, layout.footer_links === null ? null : JSON.stringify(layout.footer_links), layout.sha, now],
  );
  return rows[0];
}

export async function getManagedEmailLayout(q: Queryable, key: string): Promise<ManagedEmailLayoutRow | null> {
  const rows = await q.query<ManagedEmailLayoutRow>(`SELECT ${LAYOUT_COLUMNS} FROM email_layouts WHERE key = $1`, [key]);
  return rows[0] ?? null;
}

/** A page of email layouts (configured and API-managed) by key. */
export async function listManagedEmailLayouts(q: Queryable, page: { after?: string; limit: number }): Promise<ManagedEmailLayoutRow[]> {
  return q.query<ManagedEmailLayoutRow>(`SELECT ${LAYOUT_COLUMNS} FROM email_layouts WHERE key > $1 ORDER BY key LIMIT $2`, [page.after ?? '', page.limit]);
}

export interface ChannelGroupRow { key: string; channel_type: string | null; mode: 'all' | 'first'; channel_keys: string[] }
export interface EmailLayoutRow { key: string; html_layout: string | null; text_layout: string | null }

export async function findChannelGroup(q: Queryable, key: string): Promise<ChannelGroupRow | null> {
  const rows = await q.query<ChannelGroupRow>('SELECT key, channel_type, mode, channel_keys FROM channel_groups WHERE key = $1', [key]);
  return rows[0] ?? null;
}

export async function findEmailLayout(q: Queryable, key: string): Promise<EmailLayoutRow | null> {
  const rows = await q.query<EmailLayoutRow>('SELECT key, html_layout, text_layout FROM email_layouts WHERE key = $1', [key]);
  return rows[0] ?? null;
}

export interface ChannelGroupListRow extends ChannelGroupRow {
  source: 'config' | 'api';
  name: string | null;
  operator: 'any' | 'all';
  created_at: Date | null;
  updated_at: Date;
}

const GROUP_COLUMNS = 'key, channel_type, mode, channel_keys, source, name, operator, created_at, updated_at';

/** A page of channel groups by key, for the management API; `key` alone when given. */
export async function listChannelGroups(q: Queryable, page: { after?: string; limit: number; key?: string }): Promise<ChannelGroupListRow[]> {
  return q.query<ChannelGroupListRow>(
    `SELECT ${GROUP_COLUMNS} FROM channel_groups
      WHERE key > $1 AND ($2::text IS NULL OR key = $2) ORDER BY key LIMIT $3`,
    [page.after ?? '', page.key ?? null, page.limit],
  );
}

/**
 * Writes a channel group owned by the management API (every channel of it, mode 'all'). Null
 * when `key` is a configured group: configuration owns it and the API does not change it.
 */
export async function upsertApiChannelGroup(q: Queryable, group: { key: string; name: string; channel_type: string; operator: 'any' | 'all'; channel_keys: string[] }, now: Date): Promise<ChannelGroupListRow | null> {
  const rows = await q.query<ChannelGroupListRow>(
    `INSERT INTO channel_groups (key, channel_type, mode, channel_keys, source, name, operator, created_at, updated_at)
     VALUES ($1, $2, 'all', $3::jsonb, 'api', $4, $5, $6, $6)
     ON CONFLICT (key) DO UPDATE
        SET channel_type = EXCLUDED.channel_type, mode = EXCLUDED.mode, channel_keys = EXCLUDED.channel_keys, name = EXCLUDED.name,
            operator = EXCLUDED.operator, updated_at = EXCLUDED.updated_at
      WHERE channel_groups.source = 'api'
     RETURNING ${GROUP_COLUMNS}`,
    [group.key, group.channel_type, JSON.stringify(group.channel_keys), group.name, group.operator, now],
  );
  return rows[0] ?? null;
}

/** Removes a channel group the API owns: whether one was removed (a configured group never is). */
export async function deleteApiChannelGroup(q: Queryable, key: string): Promise<boolean> {
  const rows = await q.query<{ key: string }>(`DELETE FROM channel_groups WHERE key = $1 AND source = 'api' RETURNING key`, [key]);
  return rows.length > 0;
}
