import { Type } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import { deleteEntity, getEntity, identifyInline, listEntities } from '../../store/entities.js';
import { Id, pageInfo } from '../schemas/common.js';
import { serializeObject } from '../serializers/entities.js';
import type { ApiDeps, App } from '../types.js';
import { ChannelDataBody, CommonIdentifyFields, ListQuery, Nullable } from '../schemas/identify.js';
import { channelData, objectKey, serializePage } from './entity-helpers.js';

const SetObjectBody = Type.Object({
  ...CommonIdentifyFields,
  locale: Type.Optional(Nullable(Type.String())),
  timezone: Type.Optional(Nullable(Type.String())),
}, { additionalProperties: true, description: 'Known fields plus any custom properties, merged into `properties`' });

const CollectionParams = Type.Object({ collection: Id });
const ObjectParams = Type.Object({ collection: Id, id: Id });
const ObjectChannelParams = Type.Object({ collection: Id, object_id: Id, channel_id: Id });

/**
 * Collections starting with `$` are Herald's own ('$users', '$tenants'): writing them through
 * /v1/objects would bypass the user and tenant rules, so they are refused here.
 */

export function registerObjectRoutes(app: App, deps: ApiDeps): void {
  const tags = ['objects'];

  app.get('/v1/objects/:collection', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'List the objects of a collection (oldest first)', params: CollectionParams, querystring: ListQuery },
  }, async (request) => {
    const { collection } = objectKey(request.params.collection, '');
    const pageSize = request.query.page_size ?? 50;
    const page = await listEntities(deps.db, collection, { after: request.query.after, before: request.query.before, pageSize });
    const entries = await serializePage(deps.db, page.entries, request.query.include, serializeObject);
    return { entries, page_info: pageInfo(pageSize, page.after, page.before) };
  });

  app.put('/v1/objects/:collection/:id', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Set (merge upsert) an object', params: ObjectParams, body: SetObjectBody },
  }, async (request) => {
    const key = objectKey(request.params.collection, request.params.id);
    const body = request.body as Record<string, unknown>;
    return serializeObject(await deps.db.transaction((tx) => identifyInline(tx, key, body, deps.clock.now())));
  });

  app.get('/v1/objects/:collection/:id', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Get an object', params: ObjectParams },
  }, async (request) => {
    const key = objectKey(request.params.collection, request.params.id);
    const row = await getEntity(deps.db, key);
    if (!row) throw errors.notFound(`Object "${key.id}" in collection "${key.collection}"`);
    return serializeObject(row);
  });

  app.delete('/v1/objects/:collection/:id', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Delete an object with its channel data and preferences', params: ObjectParams },
  }, async (request, reply) => {
    await deleteEntity(deps.db, objectKey(request.params.collection, request.params.id));
    return reply.code(204).send();
  });

  const channelPath = '/v1/objects/:collection/:object_id/channel_data/:channel_id';
  app.get(channelPath, {
    config: { auth: 'public' },
    schema: { tags, summary: "Get an object's channel data (channel id or key)", params: ObjectChannelParams },
  }, async (request) => channelData.get(deps, objectKey(request.params.collection, request.params.object_id), request.params.channel_id));

  app.put(channelPath, {
    config: { auth: 'public' },
    schema: { tags, summary: "Set an object's channel data, creating the object if needed", params: ObjectChannelParams, body: ChannelDataBody },
  }, async (request) => channelData.set(deps, objectKey(request.params.collection, request.params.object_id), request.params.channel_id, request.body.data));

  app.delete(channelPath, {
    config: { auth: 'public' },
    schema: { tags, summary: "Unset an object's channel data", params: ObjectChannelParams },
  }, async (request, reply) => {
    await channelData.unset(deps, objectKey(request.params.collection, request.params.object_id), request.params.channel_id);
    return reply.code(204).send();
  });
}
