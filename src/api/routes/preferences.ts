import { Type, type TSchema } from '@sinclair/typebox';
import { mergePreferenceLayers } from '../../domain/preferences.js';
import { TENANTS, USERS, type EntityKey } from '../../domain/recipients.js';
import { layerNames, preferenceLayers } from '../../engine/preference-layers.js';
import { getEntity, type PreferenceSetRow } from '../../store/entities.js';
import { deletePreferenceSet, getPreferenceSet, listPreferenceSets, writePreferenceSet, type PersistenceStrategy } from '../../store/preferences.js';
import { Id } from '../schemas/common.js';
import { AnyObject, Nullable } from '../schemas/identify.js';
import { serializePreferenceSet } from '../serializers/entities.js';
import type { ApiDeps, App } from '../types.js';
import { objectKey } from './entity-helpers.js';
import { preferenceSetVisible } from '../plugins/access.js';

/*
 * Preference sets of users and objects (knock-api.md §2.2, §2.3, §3.5, §5.11 "Writes"), plus the
 * deprecated per-field sub-paths the browser client still calls. Users and objects share every
 * handler; only the way the entity key is read from the path differs.
 */

/** A boolean, or a setting object (`{conditions}`, or nested `channel_types`/`channels`). */
const Setting = Type.Unsafe<boolean | Record<string, unknown> | null>({ type: ['boolean', 'object', 'null'] });
const SettingMap = Type.Optional(Nullable(Type.Record(Type.String(), Setting)));

/** PreferenceSetRequest: user, object and environment default sets share it. */
export const PreferenceSetBody = Type.Object({
  __persistence_strategy__: Type.Optional(Type.Union([Type.Literal('replace'), Type.Literal('merge')])),
  workflows: SettingMap,
  categories: SettingMap,
  channel_types: SettingMap,
  channels: SettingMap,
  commercial_subscribed: Type.Optional(Setting),
}, { additionalProperties: true, description: 'PreferenceSetRequest; replaces the set unless __persistence_strategy__ is "merge"' });

/** The stored fields of a PreferenceSetRequest body, and how to persist them. */
export function preferenceSetWrite(body: Record<string, unknown>): { preferences: Record<string, unknown>; strategy: PersistenceStrategy } {
  const { __persistence_strategy__: strategy, id: _id, __typename: _t, ...preferences } = body;
  return { preferences, strategy: strategy === 'merge' ? 'merge' : 'replace' };
}

const GetQuery = Type.Object({ tenant: Type.Optional(Type.String()) });

/** Fields every PreferenceSet answers with, null when the set does not hold them (§3.5). */
const UNSET = { workflows: null, categories: null, channel_types: null, channels: null };

export function shape(setId: string, preferences: Readonly<Record<string, unknown>> | null) {
  return { ...UNSET, ...(preferences ?? {}), id: setId };
}

function serialize(row: PreferenceSetRow) {
  return { ...UNSET, ...serializePreferenceSet(row), id: row.set_id };
}

/** `{subscribed: x}` (what the client sends for a boolean) stands for x; anything else is a setting object. */
function settingOf(body: Record<string, unknown>): unknown {
  const keys = Object.keys(body);
  return keys.length === 1 && keys[0] === 'subscribed' ? body.subscribed : body;
}


interface Scope {
  tags: string[];
  /** The path up to and including `/preferences`. */
  base: string;
  params: Record<string, TSchema>;
  keyOf: (params: Record<string, string>) => EntityKey;
  /** Browser clients (public key) may call these routes; only for users, whose id the token checks. */
  access: 'public' | 'secret';
}

const scopes: Scope[] = [
  {
    tags: ['users'],
    base: '/v1/users/:user_id/preferences',
    params: { user_id: Id },
    keyOf: (p) => ({ collection: USERS, id: p.user_id }),
    access: 'public',
  },
  {
    tags: ['objects'],
    base: '/v1/objects/:collection/:object_id/preferences',
    params: { collection: Id, object_id: Id },
    keyOf: (p) => objectKey(p.collection, p.object_id),
    access: 'secret',
  },
];

/** The deprecated sub-paths: each turns its body into a patch that is deep-merged into the set. */
const subPaths: { path: string; extra?: string; patch: (body: Record<string, unknown>, param?: string) => Record<string, unknown>; summary: string }[] = [
  { path: 'channel_types', patch: (body) => ({ channel_types: body }), summary: 'Merge channel type preferences into a set (deprecated)' },
  { path: 'channel_types/:key', extra: 'key', patch: (body, type) => ({ channel_types: { [type!]: settingOf(body) } }), summary: 'Set one channel type preference (deprecated)' },
  { path: 'workflows', patch: (body) => ({ workflows: body }), summary: 'Merge workflow preferences into a set (deprecated)' },
  { path: 'workflows/:key', extra: 'key', patch: (body, key) => ({ workflows: { [key!]: settingOf(body) } }), summary: 'Set one workflow preference (deprecated)' },
  { path: 'categories', patch: (body) => ({ categories: body }), summary: 'Merge category preferences into a set (deprecated)' },
  { path: 'categories/:key', extra: 'key', patch: (body, key) => ({ categories: { [key!]: settingOf(body) } }), summary: 'Set one category preference (deprecated)' },
];

export function registerPreferenceRoutes(app: App, deps: ApiDeps): void {
  const write = (key: EntityKey, setId: string, preferences: Record<string, unknown>, strategy: PersistenceStrategy) =>
    deps.db.transaction((tx) => writePreferenceSet(tx, key, setId, preferences, strategy, deps.clock.now()));

  for (const scope of scopes) {
    const { tags, base, keyOf } = scope;
    const config = { auth: scope.access };
    const EntityParams = Type.Object(scope.params);
    const SetParams = Type.Object({ ...scope.params, id: Id });

    app.get(base, {
      config,
      schema: { tags, summary: 'List the preference sets (a plain array)', params: EntityParams },
    }, async (request) => {
      const rows = await listPreferenceSets(deps.db, keyOf(request.params as Record<string, string>));
      const visible = preferenceSetVisible(request);
      return rows.filter((r) => visible(r.set_id)).map(serialize);
    });

    app.get(`${base}/:id`, {
      config,
      schema: { tags, summary: 'Get a preference set; an unset set answers with null fields', params: SetParams, querystring: GetQuery },
    }, async (request) => {
      const params = request.params as Record<string, string>;
      const key = keyOf(params);
      const tenant = request.query.tenant;
      if (tenant) {
        // With a tenant: the recipient's set for that tenant over the tenant's default set (§5.11).
        const [own, tenantRow] = await Promise.all([getPreferenceSet(deps.db, key, tenant), getEntity(deps.db, { collection: TENANTS, id: tenant })]);
        const layers = preferenceLayers(new Map(own ? [[tenant, own.preferences]] : []), tenant, tenantRow?.properties ?? null);
        const tenantSpecific = layers.some((l) => l.name === layerNames.tenantDefault(tenant));
        if (tenantSpecific) return shape(tenant, mergePreferenceLayers(layers) as Record<string, unknown>);
      }
      const row = await getPreferenceSet(deps.db, key, params.id);
      return row ? serialize(row) : shape(params.id, null);
    });

    app.put(`${base}/:id`, {
      config,
      schema: { tags, summary: 'Set a preference set (replace by default), creating the recipient if needed', params: SetParams, body: PreferenceSetBody },
    }, async (request) => {
      const params = request.params as Record<string, string>;
      const { preferences, strategy } = preferenceSetWrite(request.body as Record<string, unknown>);
      return serialize(await write(keyOf(params), params.id, preferences, strategy));
    });

    // Idempotent like the other deletes: an unset set still answers 204.
    app.delete(`${base}/:id`, {
      config: { auth: 'secret' },
      schema: { tags, summary: 'Unset a preference set', params: SetParams },
    }, async (request, reply) => {
      await deletePreferenceSet(deps.db, keyOf(request.params as Record<string, string>), (request.params as Record<string, string>).id);
      return reply.code(204).send();
    });

    for (const sub of subPaths) {
      const Params = Type.Object({ ...scope.params, id: Id, ...(sub.extra ? { [sub.extra]: Id } : {}) });
      app.put(`${base}/:id/${sub.path}`, {
        config,
        schema: { tags, summary: sub.summary, params: Params, body: AnyObject },
      }, async (request) => {
        const params = request.params as Record<string, string>;
        const patch = sub.patch(request.body as Record<string, unknown>, sub.extra ? params[sub.extra] : undefined);
        return serialize(await write(keyOf(params), params.id, patch, 'merge'));
      });
    }
  }
}
