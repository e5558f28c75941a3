import { errors } from '../domain/errors.js';
import { TENANTS, type EntityKey } from '../domain/recipients.js';
import { requireChannel, setChannelData, unsetChannelData } from './channel-data.js';
import { encodeCursor, keysetPage, readTimeIdCursor } from './cursor.js';
import type { Queryable } from './db.js';

/** A user ('$users'), tenant ('$tenants') or object as stored. */
export interface EntityRow {
  collection: string;
  id: string;
  /** Every field except id and created_at: name, email, settings, custom keys... */
  properties: Record<string, unknown>;
  created_at: Date | null;
  inserted_at: Date;
  updated_at: Date;
}

export interface PreferenceSetRow {
  collection: string;
  id: string;
  set_id: string;
  preferences: Record<string, unknown>;
  updated_at: Date;
}

export interface EntityPage {
  entries: EntityRow[];
  after: string | null;
  before: string | null;
}

export interface ListEntitiesOptions {
  after?: string;
  before?: string;
  pageSize: number;
  /** Exact match on `properties.name` (tenant filter). */
  name?: string;
  /** Exact match on the id (tenant filter). */
  id?: string;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Recursive merge for preferences and tenant settings: objects merge by key, anything else replaces. */
export function deepMerge(base: unknown, patch: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = deepMerge(base[k], v);
  return out;
}

/**
 * Merge upsert: new top-level properties are laid over the stored ones (`||` is a shallow jsonb
 * merge), so identifying with `{name}` keeps an earlier `email`. `createdAt` undefined keeps the
 * stored value; null clears it. ON CONFLICT also row-locks the entity for the rest of the
 * transaction, which is what makes the read-merge-write steps of `identifyInline` race-free.
 */
export async function upsertEntity(
  q: Queryable,
  key: EntityKey,
  properties: Record<string, unknown>,
  now: Date,
  opts: { createdAt?: string | null } = {},
): Promise<EntityRow> {
  const rows = await q.query<EntityRow>(
    `INSERT INTO entities (collection, id, properties, created_at, inserted_at, updated_at)
     VALUES ($1, $2, $3::jsonb, $4::timestamptz, $5, $5)
     ON CONFLICT (collection, id) DO UPDATE SET
       properties = entities.properties || EXCLUDED.properties,
       created_at = CASE WHEN $6::boolean THEN EXCLUDED.created_at ELSE entities.created_at END,
       updated_at = EXCLUDED.updated_at
     RETURNING *`,
    [key.collection, key.id, JSON.stringify(properties), opts.createdAt ?? null, now, opts.createdAt !== undefined],
  );
  return rows[0];
}

export async function getEntity(q: Queryable, key: EntityKey): Promise<EntityRow | null> {
  const rows = await q.query<EntityRow>('SELECT * FROM entities WHERE collection = $1 AND id = $2', [key.collection, key.id]);
  return rows[0] ?? null;
}

/** Loads many entities in one round trip; missing keys are simply absent from the result. */
export async function getEntities(q: Queryable, keys: EntityKey[]): Promise<EntityRow[]> {
  if (keys.length === 0) return [];
  return q.query<EntityRow>(
    `SELECT * FROM entities
     WHERE (collection, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [keys.map((k) => k.collection), keys.map((k) => k.id)],
  );
}

/** Deletes the entity; its channel data and preference sets go with it (ON DELETE CASCADE). */
export async function deleteEntity(q: Queryable, key: EntityKey): Promise<boolean> {
  const rows = await q.query('DELETE FROM entities WHERE collection = $1 AND id = $2 RETURNING id', [key.collection, key.id]);
  return rows.length > 0;
}


/** Oldest first, keyset-paginated over (inserted_at, id) using entities_list_idx. */
export async function listEntities(q: Queryable, collection: string, opts: ListEntitiesOptions): Promise<EntityPage> {
  const params: unknown[] = [collection];
  const where = ['collection = $1'];
  const add = (sql: string, ...values: unknown[]) => {
    let i = 0;
    where.push(sql.replace(/\?/g, () => { params.push(values[i++]); return `$${params.length}`; }));
  };
  if (opts.name !== undefined) add(`properties->>'name' = ?`, opts.name);
  if (opts.id !== undefined) add('id = ?', opts.id);
  const after = readTimeIdCursor(opts.after, 'after');
  const before = readTimeIdCursor(opts.before, 'before');
  if (after) add('(inserted_at, id) > (?::timestamptz, ?)', ...after);
  if (before) add('(inserted_at, id) < (?::timestamptz, ?)', ...before);
  // Paging backwards reads the index descending and flips the page back into ascending order.
  const order = before ? 'DESC' : 'ASC';
  params.push(opts.pageSize + 1);
  const rows = await q.query<EntityRow>(
    `SELECT * FROM entities WHERE ${where.join(' AND ')}
     ORDER BY inserted_at ${order}, id ${order} LIMIT $${params.length}`,
    params,
  );
  const page = keysetPage(rows, opts.pageSize, { after, before }, (r) => encodeCursor([r.inserted_at, r.id]));
  return { entries: page.items, after: page.after, before: page.before };
}

/** All preference sets of the given entities (for `include[]=preferences` on lists). */
export async function getPreferenceSets(q: Queryable, keys: EntityKey[]): Promise<PreferenceSetRow[]> {
  if (keys.length === 0) return [];
  return q.query<PreferenceSetRow>(
    `SELECT * FROM preference_sets
     WHERE (collection, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
     ORDER BY collection, id, set_id`,
    [keys.map((k) => k.collection), keys.map((k) => k.id)],
  );
}

/** Deep-merges `patch` into one preference set (creating it); the entity row must be locked. */
async function mergePreferenceSet(q: Queryable, key: EntityKey, setId: string, patch: Record<string, unknown>, now: Date): Promise<void> {
  const rows = await q.query<{ preferences: Record<string, unknown> }>(
    'SELECT preferences FROM preference_sets WHERE collection = $1 AND id = $2 AND set_id = $3',
    [key.collection, key.id, setId],
  );
  const merged = deepMerge(rows[0]?.preferences ?? {}, patch);
  await q.query(
    `INSERT INTO preference_sets (collection, id, set_id, preferences, updated_at) VALUES ($1, $2, $3, $4::jsonb, $5)
     ON CONFLICT (collection, id, set_id) DO UPDATE SET preferences = EXCLUDED.preferences, updated_at = EXCLUDED.updated_at`,
    [key.collection, key.id, setId, JSON.stringify(merged), now],
  );
}

function mapField(body: Record<string, unknown>, field: string): Record<string, unknown> {
  const v = body[field];
  if (v === undefined || v === null) return {};
  if (!isPlainObject(v)) throw errors.invalidParams(`"${field}" must be an object.`, [{ field, message: 'must be an object', type: 'invalid' }]);
  return v;
}

/**
 * Applies an inline identify body (PUT users/objects/tenants, inline recipients, actors and
 * tenants on trigger). The body splits into:
 * - `created_at` → the column (must be an ISO date);
 * - `channel_data` → {channel id or key: data}; each listed channel's data is replaced, other
 *   channels are kept; a null data unsets that channel;
 * - `preferences` → {set id: set}; each set is deep-merged into the stored one (inline writes
 *   always merge, so `__persistence_strategy__` is ignored);
 * - for tenants, `settings` is deep-merged with the stored settings (branding, preference_set);
 * - everything else → properties, shallow-merged over the stored ones.
 * Channels are resolved before anything is written, so an unknown channel changes nothing
 * (provided the caller runs this in a transaction, as every caller does).
 */
export async function identifyInline(q: Queryable, key: EntityKey, body: Record<string, unknown>, now: Date): Promise<EntityRow> {
  const {
    id: _id, collection: _collection, __typename: _t, updated_at: _u, inserted_at: _i,
    created_at: createdAt, channel_data: _cd, preferences: _p, ...properties
  } = body;
  if (createdAt !== undefined && createdAt !== null && (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt)))) {
    throw errors.invalidParams('"created_at" must be an ISO-8601 timestamp.', [{ field: 'created_at', message: 'must be an ISO-8601 timestamp', type: 'invalid' }]);
  }
  const channelData = mapField(body, 'channel_data');
  const preferences = mapField(body, 'preferences');
  const channels: { channelId: string; data: Record<string, unknown> | null }[] = [];
  for (const [idOrKey, data] of Object.entries(channelData)) {
    if (data !== null && !isPlainObject(data)) {
      throw errors.invalidParams(`channel_data for "${idOrKey}" must be an object.`, [{ field: `channel_data.${idOrKey}`, message: 'must be an object', type: 'invalid' }]);
    }
    channels.push({ channelId: (await requireChannel(q, idOrKey)).id, data });
  }
  for (const [setId, set] of Object.entries(preferences)) {
    if (set !== null && !isPlainObject(set)) {
      throw errors.invalidParams(`preferences for "${setId}" must be an object.`, [{ field: `preferences.${setId}`, message: 'must be an object', type: 'invalid' }]);
    }
  }

  const settings = key.collection === TENANTS ? properties.settings : undefined;
  if (settings !== undefined) delete properties.settings;
  let row = await upsertEntity(q, key, properties, now, { createdAt: createdAt as string | null | undefined });
  if (settings !== undefined) {
    // The upsert above holds the row lock, so reading the stored settings here cannot race.
    const merged = deepMerge(row.properties.settings, settings);
    const rows = await q.query<EntityRow>(
      `UPDATE entities SET properties = properties || jsonb_build_object('settings', $3::jsonb)
       WHERE collection = $1 AND id = $2 RETURNING *`,
      [key.collection, key.id, JSON.stringify(merged)],
    );
    row = rows[0];
  }
  for (const { channelId, data } of channels) {
    if (data === null) await unsetChannelData(q, key, channelId);
    else await setChannelData(q, key, channelId, data, now);
  }
  for (const [setId, set] of Object.entries(preferences)) {
    if (set === null) continue;
    const { __persistence_strategy__: _s, id: _sid, __typename: _st, ...patch } = set as Record<string, unknown>;
    await mergePreferenceSet(q, key, setId, patch, now);
  }
  return row;
}

/** Creates the entities that do not exist yet (with no properties); existing ones are untouched. */
export async function ensureEntities(q: Queryable, keys: EntityKey[], now: Date): Promise<void> {
  if (keys.length === 0) return;
  await q.query(
    `INSERT INTO entities (collection, id, properties, inserted_at, updated_at)
     SELECT k.c, k.i, '{}', $3, $3 FROM unnest($1::text[], $2::text[]) AS k(c, i)
     ON CONFLICT (collection, id) DO NOTHING`,
    [keys.map((k) => k.collection), keys.map((k) => k.id), now],
  );
}
