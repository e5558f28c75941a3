import { Type } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import { USERS, type EntityKey } from '../../domain/recipients.js';
import { deleteEntity, getEntity, identifyInline, listEntities } from '../../store/entities.js';
import { pageInfo } from '../schemas/common.js';
import { ChannelDataBody, CommonIdentifyFields, ListQuery, Nullable } from '../schemas/identify.js';
import { serializeUser } from '../serializers/entities.js';
import type { ApiDeps, App } from '../types.js';
import { channelData, serializePage } from './entity-helpers.js';

const IdentifyUserBody = Type.Object({
  ...CommonIdentifyFields,
  email: Type.Optional(Nullable(Type.String())),
  phone_number: Type.Optional(Nullable(Type.String())),
  avatar: Type.Optional(Nullable(Type.String())),
  locale: Type.Optional(Nullable(Type.String())),
  timezone: Type.Optional(Nullable(Type.String())),
}, { additionalProperties: true, description: 'Known fields plus any custom properties, merged over the stored user' });

const UserParams = Type.Object({ user_id: Type.String({ minLength: 1 }) });
const UserChannelParams = Type.Object({ user_id: Type.String({ minLength: 1 }), channel_id: Type.String({ minLength: 1 }) });


const user = (id: string): EntityKey => ({ collection: USERS, id });

export function registerUserRoutes(app: App, deps: ApiDeps): void {
  const tags = ['users'];

  app.get('/v1/users', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'List users (oldest first)', querystring: ListQuery },
  }, async (request) => {
    const pageSize = request.query.page_size ?? 50;
    const page = await listEntities(deps.db, USERS, { after: request.query.after, before: request.query.before, pageSize });
    const entries = await serializePage(deps.db, page.entries, request.query.include, serializeUser);
    return { entries, page_info: pageInfo(pageSize, page.after, page.before) };
  });

  app.put('/v1/users/:user_id', {
    config: { auth: 'public' },
    schema: { tags, summary: 'Identify (merge upsert) a user', params: UserParams, body: IdentifyUserBody },
  }, async (request) => {
    const body = request.body as Record<string, unknown>;
    const row = await deps.db.transaction((tx) => identifyInline(tx, user(request.params.user_id), body, deps.clock.now()));
    return serializeUser(row);
  });

  app.get('/v1/users/:user_id', {
    config: { auth: 'public' },
    schema: { tags, summary: 'Get a user', params: UserParams },
  }, async (request) => {
    const row = await getEntity(deps.db, user(request.params.user_id));
    if (!row) throw errors.notFound(`User "${request.params.user_id}"`);
    return serializeUser(row);
  });

  // Deleting is idempotent: a retried DELETE whose first attempt succeeded still answers 204.
  app.delete('/v1/users/:user_id', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Delete a user with its channel data and preferences', params: UserParams },
  }, async (request, reply) => {
    await deleteEntity(deps.db, user(request.params.user_id));
    return reply.code(204).send();
  });

  app.get('/v1/users/:user_id/channel_data/:channel_id', {
    config: { auth: 'public' },
    schema: { tags, summary: "Get a user's channel data (channel id or key)", params: UserChannelParams },
  }, async (request) => channelData.get(deps, user(request.params.user_id), request.params.channel_id));

  app.put('/v1/users/:user_id/channel_data/:channel_id', {
    config: { auth: 'public' },
    schema: { tags, summary: "Set a user's channel data, creating the user if needed", params: UserChannelParams, body: ChannelDataBody },
  }, async (request) => channelData.set(deps, user(request.params.user_id), request.params.channel_id, request.body.data));

  app.delete('/v1/users/:user_id/channel_data/:channel_id', {
    config: { auth: 'public' },
    schema: { tags, summary: "Unset a user's channel data", params: UserChannelParams },
  }, async (request, reply) => {
    await channelData.unset(deps, user(request.params.user_id), request.params.channel_id);
    return reply.code(204).send();
  });
}
