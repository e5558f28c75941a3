import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import { USERS, type EntityKey } from '../../domain/recipients.js';
import { getChannelData, requireChannel, setChannelData, unsetChannelData } from '../../store/channel-data.js';
import type { Queryable } from '../../store/db.js';
import { deleteEntity, getEntity, getPreferenceSets, identifyInline, listEntities, type EntityRow } from '../../store/entities.js';
import { CursorQuery, pageInfo } from '../schemas/common.js';
import { serializeChannelData, serializePreferenceSet, serializeUser } from '../serializers/entities.js';
import type { ApiDeps, App } from '../types.js';

/*
 * Request schemas shared by the user, object and tenant routes (they all take the same inline
 * identify fields and channel data bodies), exported for objects.ts and tenants.ts.
 */

/** `type: [t, 'null']` rather than anyOf: ajv's type coercion would turn null into "" inside anyOf. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] });

const AnyObject = Type.Object({}, { additionalProperties: true });
/** `{channel id or key: data}`; null data unsets that channel. */
export const InlineChannelData = Type.Record(Type.String(), Nullable(AnyObject), { description: 'Channel id or key → channel data; merged by channel' });
/** `{preference set id: PreferenceSetRequest}`; deep-merged into the stored sets. */
export const InlinePreferences = Type.Record(Type.String(), Nullable(AnyObject), { description: 'Preference set id → set; deep-merged' });

export const CommonIdentifyFields = {
  name: Type.Optional(Nullable(Type.String())),
  created_at: Type.Optional(Nullable(Type.String({ format: 'date-time' }))),
  channel_data: Type.Optional(Nullable(InlineChannelData)),
  preferences: Type.Optional(Nullable(InlinePreferences)),
};

const IdentifyUserBody = Type.Object({
  ...CommonIdentifyFields,
  email: Type.Optional(Nullable(Type.String())),
  phone_number: Type.Optional(Nullable(Type.String())),
  avatar: Type.Optional(Nullable(Type.String())),
  locale: Type.Optional(Nullable(Type.String())),
  timezone: Type.Optional(Nullable(Type.String())),
}, { additionalProperties: true, description: 'Known fields plus any custom properties, merged over the stored user' });

export const ChannelDataBody = Type.Object({ data: AnyObject });

// The node SDK sends `include[]=preferences`; a bare `include=preferences` is accepted too.
export const ListQuery = Type.Composite([CursorQuery, Type.Object({
  include: Type.Optional(Type.Union([Type.Array(Type.Literal('preferences')), Type.Literal('preferences')])),
})]);

const UserParams = Type.Object({ user_id: Type.String({ minLength: 1 }) });
const UserChannelParams = Type.Object({ user_id: Type.String({ minLength: 1 }), channel_id: Type.String({ minLength: 1 }) });

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

const user = (id: string): EntityKey => ({ collection: USERS, id });

export function registerUserRoutes(app: App, deps: ApiDeps): void {
  const tags = ['users'];

  app.get('/v1/users', {
    schema: { tags, summary: 'List users (oldest first)', querystring: ListQuery },
  }, async (request) => {
    const pageSize = request.query.page_size ?? 50;
    const page = await listEntities(deps.db, USERS, { after: request.query.after, before: request.query.before, pageSize });
    const entries = await serializePage(deps.db, page.entries, request.query.include, serializeUser);
    return { entries, page_info: pageInfo(pageSize, page.after, page.before) };
  });

  app.put('/v1/users/:user_id', {
    config: { publicAccess: true },
    schema: { tags, summary: 'Identify (merge upsert) a user', params: UserParams, body: IdentifyUserBody },
  }, async (request) => {
    const body = request.body as Record<string, unknown>;
    const row = await deps.db.transaction((tx) => identifyInline(tx, user(request.params.user_id), body, deps.clock.now()));
    return serializeUser(row);
  });

  app.get('/v1/users/:user_id', {
    config: { publicAccess: true },
    schema: { tags, summary: 'Get a user', params: UserParams },
  }, async (request) => {
    const row = await getEntity(deps.db, user(request.params.user_id));
    if (!row) throw errors.notFound(`User "${request.params.user_id}"`);
    return serializeUser(row);
  });

  // Deleting is idempotent: a retried DELETE whose first attempt succeeded still answers 204.
  app.delete('/v1/users/:user_id', {
    schema: { tags, summary: 'Delete a user with its channel data and preferences', params: UserParams },
  }, async (request, reply) => {
    await deleteEntity(deps.db, user(request.params.user_id));
    return reply.code(204).send();
  });

  app.get('/v1/users/:user_id/channel_data/:channel_id', {
    config: { publicAccess: true },
    schema: { tags, summary: "Get a user's channel data (channel id or key)", params: UserChannelParams },
  }, async (request) => channelData.get(deps, user(request.params.user_id), request.params.channel_id));

  app.put('/v1/users/:user_id/channel_data/:channel_id', {
    config: { publicAccess: true },
    schema: { tags, summary: "Set a user's channel data, creating the user if needed", params: UserChannelParams, body: ChannelDataBody },
  }, async (request) => channelData.set(deps, user(request.params.user_id), request.params.channel_id, request.body.data));

  app.delete('/v1/users/:user_id/channel_data/:channel_id', {
    config: { publicAccess: true },
    schema: { tags, summary: "Unset a user's channel data", params: UserChannelParams },
  }, async (request, reply) => {
    await channelData.unset(deps, user(request.params.user_id), request.params.channel_id);
    return reply.code(204).send();
  });
}
