import { errors } from '../../domain/errors.js';
import type { EntityKey } from '../../domain/recipients.js';
import { getChannelData, requireChannel, setChannelData, unsetChannelData } from '../../store/channel-data.js';
import type { Queryable } from '../../store/db.js';
import { getPreferenceSets, type EntityRow } from '../../store/entities.js';
import { serializeChannelData, serializePreferenceSet } from '../serializers/entities.js';
import type { ApiDeps } from '../types.js';

/** Serializes a page of entities, adding `preferences: {set id: set}` when asked to include them. */
export async function serializePage<T extends object>(q: Queryable, rows: EntityRow[], include: string | string[] | undefined, serialize: (row: EntityRow) => T) {
  if (!([] as string[]).concat(include ?? []).includes('preferences')) return rows.map(serialize);
  const sets = await getPreferenceSets(q, rows);
  return rows.map((row) => {
    const own = sets.filter((s) => s.collection === row.collection && s.id === row.id);
    return { ...serialize(row), preferences: Object.fromEntries(own.map((s) => [s.set_id, serializePreferenceSet(s)])) };
  });
}

/** GET/PUT/DELETE of channel data, for any entity: users and objects share the handlers. */
export const channelData = {
  async get(deps: ApiDeps, key: EntityKey, channelIdOrKey: string) {
    const channel = await requireChannel(deps.db, channelIdOrKey);
    const row = await getChannelData(deps.db, key, channel.id);
    if (!row) throw errors.notFound(`Channel data for channel "${channelIdOrKey}"`);
    return serializeChannelData(row);
  },
  async set(deps: ApiDeps, key: EntityKey, channelIdOrKey: string, data: Record<string, unknown>) {
    const channel = await requireChannel(deps.db, channelIdOrKey);
    const row = await deps.db.transaction((tx) => setChannelData(tx, key, channel.id, data, deps.clock.now()));
    return serializeChannelData(row);
  },
  async unset(deps: ApiDeps, key: EntityKey, channelIdOrKey: string) {
    const channel = await requireChannel(deps.db, channelIdOrKey);
    await unsetChannelData(deps.db, key, channel.id);
  },
};

/** An object's key from path params; `$`-collections are reserved for users and tenants (422). */
export function objectKey(collection: string, id: string): EntityKey {
  if (collection.startsWith('$')) {
    throw errors.invalidParams(`The collection "${collection}" is reserved; collections may not start with "$" (use /v1/users or /v1/tenants).`,
      [{ field: 'collection', message: 'may not start with "$"', type: 'invalid' }]);
  }
  return { collection, id };
}
