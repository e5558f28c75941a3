/**
 * What the management API's channel and channel group routes answer (Knock mgmt: listChannels,
 * getChannel, listChannelGroups, getChannelGroup, upsertChannelGroup, deleteChannelGroup),
 * independent of HTTP.
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
import { deleteApiChannelGroup, listChannelGroups, upsertApiChannelGroup, type ChannelGroupListRow } from '../store/configured-channels.js';
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
  operator: 'any' | 'all';
  source: 'system' | 'user';
  archived_at: null;
  visible_in: 'workflow'[];
  channel_rules: { index: number; rule_type: 'always'; operator: null; variable: null; argument: null; channel: MgmtChannel; created_at: string; updated_at: string }[];
  created_at: string;
  updated_at: string;
}

/**
 * A group in Knock's shape: one `always` rule per channel in the group's order. A configured
 * group is `source: system` (configuration owns it), named by its key, operator `any`; its
 * `mode` (`all`: every channel the recipient can receive; `first`: only the first) has no field
 * in Knock's shape; channel_type, when not configured, is the first channel's. A group written
 * through the API is `source: user` with the name and operator it was given.
 */
function toMgmtChannelGroup(row: ChannelGroupListRow, channels: Map<string, MgmtChannel>): MgmtChannelGroup {
  const at = row.updated_at.toISOString();
  const created = (row.created_at ?? row.updated_at).toISOString();
  const members = row.channel_keys.map((k) => channels.get(k)).filter((c): c is MgmtChannel => c !== undefined);
  return {
    key: row.key, name: row.name ?? row.key,
    channel_type: row.channel_type ?? members[0]?.type ?? 'email',
    operator: row.operator, source: row.source === 'api' ? 'user' : 'system', archived_at: null, visible_in: ['workflow'],
    channel_rules: members.map((channel, index) => ({ index, rule_type: 'always', operator: null, variable: null, argument: null, channel, created_at: created, updated_at: at })),
    created_at: created, updated_at: at,
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

export interface ChannelGroupRequest {
  name: string;
  channel_type: string;
  operator?: 'any' | 'all';
  channel_rules?: { channel_key: string; rule_type: string; index?: number; operator?: string | null; variable?: string | null; argument?: string | null }[];
}

/**
 * Writes a channel group (Knock mgmt upsertChannelGroup) into every environment's store, as
 * configured groups are. Herald sends a group on every channel of it the recipient can receive,
 * so only `always` rules are taken (conditional `if`/`unless` rules are refused, not ignored);
 * each rule's channel must exist and be of the group's channel_type. A configured group's key
 * is refused: configuration owns it (Knock: only user-created groups can be modified).
 */
export async function upsertMgmtChannelGroup(environments: EnvironmentDirectory, key: string, request: ChannelGroupRequest, now: Date): Promise<MgmtChannelGroup> {
  const rules = [...(request.channel_rules ?? [])].map((r, position) => ({ ...r, position }));
  const invalid = (field: string, message: string) => errors.invalidParams(`The channel group is not valid: ${field} ${message}.`, [{ field, message, type: 'invalid' }]);
  if (rules.length === 0) throw invalid('channel_group.channel_rules', 'must hold at least one rule');
  rules.sort((a, b) => (a.index ?? a.position) - (b.index ?? b.position) || a.position - b.position);
  const first = await environments.db(environments.slugs[0]);
  const channels = new Map((await findChannelsWithSettings(first, rules.map((r) => r.channel_key))).map((c) => [c.key, c]));
  const seen = new Set<string>();
  for (const r of rules) {
    const at = `channel_group.channel_rules[${r.position}]`;
    if (r.rule_type !== 'always') throw invalid(`${at}.rule_type`, 'must be "always": Herald does not evaluate conditional channel rules');
    const channel = channels.get(r.channel_key);
    if (!channel) throw invalid(`${at}.channel_key`, `names no channel ("${r.channel_key}")`);
    if (channel.type !== request.channel_type) throw invalid(`${at}.channel_key`, `is a ${channel.type} channel, not ${request.channel_type}`);
    if (seen.has(r.channel_key)) throw invalid(`${at}.channel_key`, `names "${r.channel_key}" twice`);
    seen.add(r.channel_key);
  }
  const group = { key, name: request.name, channel_type: request.channel_type, operator: request.operator ?? 'any', channel_keys: rules.map((r) => r.channel_key) };
  let written: ChannelGroupListRow | null = null;
  for (const slug of environments.slugs) {
    const row = await upsertApiChannelGroup(await environments.db(slug), group, now);
    if (!row) throw invalid('channel_group_key', `"${key}" is a configured channel group (HERALD_CHANNEL_GROUPS), not changed through the API`);
    written ??= row;
  }
  return (await groupsWithChannels(environments, [written!]))[0];
}

/** Removes a channel group written through the API from every environment (Knock mgmt deleteChannelGroup). */
export async function deleteMgmtChannelGroup(environments: EnvironmentDirectory, key: string): Promise<void> {
  const first = await environments.db(environments.slugs[0]);
  const [row] = await listChannelGroups(first, { limit: 1, key });
  if (!row) throw errors.notFound(`Channel group "${key}"`);
  if (row.source !== 'api') throw errors.invalidParams(`"${key}" is a configured channel group (HERALD_CHANNEL_GROUPS), not removed through the API.`, [{ field: 'channel_group_key', message: 'is a configured channel group', type: 'invalid' }]);
  for (const slug of environments.slugs) await deleteApiChannelGroup(await environments.db(slug), key);
}
