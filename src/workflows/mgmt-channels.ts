/**
 * What the management API's channel and channel group routes answer (Knock mgmt: listChannels,
 * getChannel, listChannelGroups, getChannelGroup), independent of HTTP.
 *
 * Channels and channel groups are the operator's configuration (HERALD_CHANNELS,
 * HERALD_CHANNEL_GROUPS), upserted into every environment's store at start-up: the same keys
 * everywhere, each store with its own channel ids. Account-wide answers (as Knock's are) come
 * from the first environment's store; `environment_settings` has one entry per environment.
 *
 * Provider settings hold secrets (SMTP passwords, API keys, bot tokens, signing keys, webhook
 * URLs with tokens in them). They are never returned: `provider_settings` shows booleans and
 * numbers (link_tracking, port, secure, ...) and the strings of a short list of non-secret
 * fields (SHOWN_STRING_SETTINGS) as configured; every other value, whatever its type, is
 * replaced by MASK, so a client sees which settings are set but not what they hold.
 */
import type { EnvironmentDirectory } from '../environments/directory.js';
import { decodeCursor, encodeCursor } from '../store/cursor.js';
import { findChannelsWithSettings, listChannelsWithSettings, type ChannelWithSettingsRow } from '../store/channels.js';
import { listChannelGroups, type ChannelGroupListRow } from '../store/configured-channels.js';
import { errors } from '../domain/errors.js';
import { MGMT_DEFAULT_PAGE_SIZE, MGMT_MAX_PAGE_SIZE, type MgmtPage } from './mgmt-catalog.js';

/** What a withheld setting shows in place of its value. */
export const MASK = '********';

/** String settings shown as configured: addresses, names and methods, never credentials or URLs. */
const SHOWN_STRING_SETTINGS: ReadonlySet<string> = new Set(['from', 'from_address', 'from_name', 'reply_to', 'host', 'method', 'region', 'from_number', 'sender_id']);

export type ShownSetting = string | number | boolean | null;

export function maskProviderSettings(settings: Record<string, unknown>): Record<string, ShownSetting> {
  const shown: Record<string, ShownSetting> = {};
  for (const [name, value] of Object.entries(settings)) {
    if (value === null || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) shown[name] = value;
    else if (typeof value === 'string' && SHOWN_STRING_SETTINGS.has(name)) shown[name] = value;
    else shown[name] = MASK;
  }
  return shown;
}

export interface MgmtChannelEnvironmentSettings {
  id: string;
  is_valid: boolean;
  is_sandbox: boolean;
  channel_settings: null;
  provider_settings: Record<string, ShownSetting>;
}

export interface MgmtChannel {
  id: string;
  key: string;
  name: string;
  type: string;
  provider: string;
  description: null;
  custom_icon_url: null;
  archived_at: null;
  visible_in: 'workflow'[];
  created_at: string;
  updated_at: string;
  environment_settings?: Record<string, MgmtChannelEnvironmentSettings>;
}

function toMgmtChannel(row: ChannelWithSettingsRow): MgmtChannel {
  return {
    id: row.id, key: row.key, name: row.name, type: row.type, provider: row.provider,
    description: null, custom_icon_url: null, archived_at: null, visible_in: ['workflow'],
    created_at: row.created_at.toISOString(), updated_at: row.updated_at.toISOString(),
  };
}

/** Each channel's settings in every environment (its own id there), provider settings masked. */
async function withEnvironmentSettings(environments: EnvironmentDirectory, channels: MgmtChannel[]): Promise<void> {
  if (channels.length === 0) return;
  for (const c of channels) c.environment_settings = {};
  const byKey = new Map(channels.map((c) => [c.key, c]));
  for (const slug of environments.slugs) {
    const rows = await findChannelsWithSettings(await environments.db(slug), [...byKey.keys()]);
    for (const row of rows) {
      byKey.get(row.key)!.environment_settings![slug] = {
        id: row.id, is_valid: true, is_sandbox: false, channel_settings: null,
        provider_settings: maskProviderSettings(row.settings ?? {}),
      };
    }
  }
}

const pageSizeOf = (limit: number | undefined) => Math.min(Math.max(limit ?? MGMT_DEFAULT_PAGE_SIZE, 1), MGMT_MAX_PAGE_SIZE);

/** An `after` cursor (a key), a 422 when it is not one of ours; `before` is not supported (forward pages only). */
function afterKey(query: { after?: string; before?: string }): string | undefined {
  if (query.before !== undefined && query.before !== '') {
    throw errors.invalidParams('Channels and channel groups are paged forward only.', [{ field: 'before', message: 'is not supported; page with after', type: 'invalid' }]);
  }
  if (query.after === undefined || query.after === '') return undefined;
  const v = decodeCursor(query.after, 1);
  if (!v || typeof v[0] !== 'string') throw errors.invalidParams('The "after" cursor is not valid.', [{ field: 'after', message: 'is not a cursor returned by this API', type: 'invalid' }]);
  return v[0];
}

function pageOf<R extends { key: string }, T>(rows: R[], pageSize: number, map: (row: R) => T): { entries: T[]; page_info: MgmtPage<T>['page_info']; shown: R[] } {
  const shown = rows.slice(0, pageSize);
  const last = shown.at(-1);
  return {
    shown,
    entries: shown.map(map),
    page_info: { after: rows.length > pageSize && last ? encodeCursor([last.key]) : null, before: null, page_size: pageSize },
  };
}

export async function listMgmtChannels(environments: EnvironmentDirectory, query: { after?: string; before?: string; limit?: number; id?: string; include?: string[] }): Promise<MgmtPage<MgmtChannel>> {
  const pageSize = pageSizeOf(query.limit);
  const db = await environments.db(environments.slugs[0]);
  const rows = await listChannelsWithSettings(db, { after: afterKey(query), limit: pageSize + 1, id: query.id });
  const page = pageOf(rows, pageSize, toMgmtChannel);
  if (query.include?.includes('environment_settings')) await withEnvironmentSettings(environments, page.entries);
  return { entries: page.entries, page_info: page.page_info };
}

export async function getMgmtChannel(environments: EnvironmentDirectory, key: string): Promise<MgmtChannel> {
  const db = await environments.db(environments.slugs[0]);
  const [row] = await findChannelsWithSettings(db, [key]);
  if (!row) throw errors.notFound(`Channel "${key}"`);
  const channel = toMgmtChannel(row);
  await withEnvironmentSettings(environments, [channel]);
  return channel;
}

export interface MgmtChannelGroup {
  key: string;
  name: string;
  channel_type: string;
  operator: 'any';
  source: 'system';
  archived_at: null;
  visible_in: 'workflow'[];
  channel_rules: { index: number; rule_type: 'always'; operator: null; variable: null; argument: null; channel: MgmtChannel; created_at: string; updated_at: string }[];
  created_at: string;
  updated_at: string;
}

/**
 * A configured group in Knock's shape: one `always` rule per channel in the group's order,
 * operator `any`, source `system` (configuration, not the API, owns it). Herald's `mode`
 * (`all`: every channel the recipient can receive; `first`: only the first) has no field in
 * Knock's shape; channel_type, when not configured, is the first channel's.
 */
function toMgmtChannelGroup(row: ChannelGroupListRow, channels: Map<string, MgmtChannel>): MgmtChannelGroup {
  const at = row.updated_at.toISOString();
  const members = row.channel_keys.map((k) => channels.get(k)).filter((c): c is MgmtChannel => c !== undefined);
  return {
    key: row.key, name: row.key,
    channel_type: row.channel_type ?? members[0]?.type ?? 'email',
    operator: 'any', source: 'system', archived_at: null, visible_in: ['workflow'],
    channel_rules: members.map((channel, index) => ({ index, rule_type: 'always', operator: null, variable: null, argument: null, channel, created_at: at, updated_at: at })),
    created_at: at, updated_at: at,
  };
}

async function groupsWithChannels(environments: EnvironmentDirectory, rows: ChannelGroupListRow[]): Promise<MgmtChannelGroup[]> {
  const db = await environments.db(environments.slugs[0]);
  const keys = [...new Set(rows.flatMap((r) => r.channel_keys))];
  const channels = new Map((await findChannelsWithSettings(db, keys)).map((c) => [c.key, toMgmtChannel(c)]));
  return rows.map((r) => toMgmtChannelGroup(r, channels));
}

export async function listMgmtChannelGroups(environments: EnvironmentDirectory, query: { after?: string; before?: string; limit?: number }): Promise<MgmtPage<MgmtChannelGroup>> {
  const pageSize = pageSizeOf(query.limit);
  const db = await environments.db(environments.slugs[0]);
  const rows = await listChannelGroups(db, { after: afterKey(query), limit: pageSize + 1 });
  const page = pageOf(rows, pageSize, (r) => r);
  return { entries: await groupsWithChannels(environments, page.shown), page_info: page.page_info };
}

export async function getMgmtChannelGroup(environments: EnvironmentDirectory, key: string): Promise<MgmtChannelGroup> {
  const db = await environments.db(environments.slugs[0]);
  const rows = await listChannelGroups(db, { limit: 1, key });
  if (rows.length === 0) throw errors.notFound(`Channel group "${key}"`);
  return (await groupsWithChannels(environments, rows))[0];
}
