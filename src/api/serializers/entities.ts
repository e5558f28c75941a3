import { TENANTS, USERS } from '../../domain/recipients.js';
import type { ChannelDataRow } from '../../store/channel-data.js';
import type { EntityRow, PreferenceSetRow } from '../../store/entities.js';

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** Knock's User: custom properties at the top level; the well-known fields are null when unset. */
export function serializeUser(row: EntityRow) {
  return {
    email: null,
    name: null,
    phone_number: null,
    avatar: null,
    timezone: null,
    ...row.properties,
    // Written last so a stored property can never shadow what identifies the resource.
    __typename: 'User',
    id: row.id,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

/** Knock's Object: unlike User and Tenant, every property is nested under `properties`. */
export function serializeObject(row: EntityRow) {
  return {
    __typename: 'Object',
    id: row.id,
    collection: row.collection,
    properties: row.properties,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

/** Knock's Tenant: custom properties at the top level, `name` and `settings` null when unset. */
export function serializeTenant(row: EntityRow) {
  const settings = row.properties.settings as Record<string, unknown> | null | undefined;
  const prefs = settings?.preference_set as Record<string, unknown> | null | undefined;
  return {
    name: null,
    ...row.properties,
    // A tenant's preference set is always its default set, which Knock labels with its id.
    settings: settings ? (prefs ? { ...settings, preference_set: { id: 'default', ...prefs } } : settings) : null,
    __typename: 'Tenant',
    id: row.id,
  };
}

/** Picks the shape by collection; used for recipients and actors embedded in other resources. */
export function serializeEntity(row: EntityRow) {
  if (row.collection === USERS) return serializeUser(row);
  if (row.collection === TENANTS) return serializeTenant(row);
  return serializeObject(row);
}

export function serializeChannelData(row: ChannelDataRow) {
  return { __typename: 'ChannelData', channel_id: row.channel_id, data: row.data };
}

/** A stored preference set as Knock's PreferenceSet (`include[]=preferences` on lists). */
export function serializePreferenceSet(row: PreferenceSetRow) {
  return { id: row.set_id, ...row.preferences };
}
