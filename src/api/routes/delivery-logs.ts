import { Type } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import { listChannels } from '../../store/channels.js';
import { listDeliveryLogs, type DeliveryLogRow } from '../../store/deliveries.js';
import { getMessage } from '../../store/messages.js';
import { CursorQuery, pageInfo } from '../schemas/common.js';
import type { ApiDeps, App } from '../types.js';

/** Herald has one environment per database; Knock's field is kept with a fixed value. */
const ENVIRONMENT_ID = '00000000-0000-0000-0000-000000000000';

/** Knock's MessageDeliveryLog: one provider call, as the provider saw it (secrets redacted at write). */
function serializeDeliveryLog(row: DeliveryLogRow) {
  return {
    __typename: 'MessageDeliveryLog',
    id: row.id,
    environment_id: ENVIRONMENT_ID,
    inserted_at: new Date(row.inserted_at).toISOString(),
    service_name: row.service_name,
    request: row.request,
    response: row.response,
  };
}

/**
 * `messages.listDeliveryLogs` (newest first), and the Herald extension `GET /v1/channels`: the
 * configured channels without their provider settings, which may hold secrets.
 */
export function registerDeliveryLogRoutes(app: App, deps: ApiDeps): void {
  app.get('/v1/messages/:message_id/delivery_logs', {
    config: { auth: 'secret' },
    schema: { tags: ['messages'], summary: "List a message's delivery logs (one per provider call), newest first", params: Type.Object({ message_id: Type.String() }), querystring: CursorQuery },
  }, async (request) => {
    const message = await getMessage(deps.db, request.params.message_id);
    if (!message) throw errors.notFound(`Message "${request.params.message_id}"`);
    const pageSize = request.query.page_size ?? 50;
    const page = await listDeliveryLogs(deps.db, message.id, { after: request.query.after, before: request.query.before, pageSize });
    return { items: page.logs.map(serializeDeliveryLog), page_info: pageInfo(pageSize, page.after, page.before) };
  });

  app.get('/v1/channels', {
    config: { auth: 'secret' },
    schema: { tags: ['channels'], summary: 'List the configured channels (Herald extension; settings are never returned)' },
  }, async () => ({
    items: (await listChannels(deps.db)).map((c) => ({
      __typename: 'Channel', id: c.id, key: c.key, type: c.type, provider: c.provider, name: c.name,
      created_at: new Date(c.created_at).toISOString(), updated_at: new Date(c.updated_at).toISOString(),
    })),
  }));
}
