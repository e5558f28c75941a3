import { Type } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import { listBatchActivities } from '../../store/batches.js';
import { decodeCursor, encodeCursor } from '../../store/cursor.js';
import { getEntities } from '../../store/entities.js';
import { getMessage } from '../../store/messages.js';
import { CursorQuery, pageInfo } from '../schemas/common.js';
import { activityEntityKeys, serializeBatchActivity, serializeSingleActivity } from '../serializers/activities.js';
import { actorMap } from '../serializers/messages.js';
import type { ApiDeps, App } from '../types.js';

/**
 * `messages.listActivities`: a message produced after a batch lists the batch's activities,
 * oldest first (paged forward with `after`); any other message has one, its own trigger.
 */
export function registerMessageActivityRoutes(app: App, deps: ApiDeps): void {
  app.get('/v1/messages/:message_id/activities', {
    config: { auth: 'secret' },
    schema: { tags: ['messages'], summary: "List a message's activities (a batch's triggers), oldest first", params: Type.Object({ message_id: Type.String() }), querystring: CursorQuery },
  }, async (request) => {
    const message = await getMessage(deps.db, request.params.message_id);
    if (!message) throw errors.notFound(`Message "${request.params.message_id}"`);
    const pageSize = request.query.page_size ?? 50;
    if (!message.batch_id) {
      const entities = actorMap(await getEntities(deps.db, activityEntityKeys([message], new Map())));
      return { items: request.query.after ? [] : [serializeSingleActivity(message, entities)], page_info: pageInfo(pageSize, null, null) };
    }
    const cursor = decodeCursor(request.query.after, 1);
    if (request.query.after && (!cursor || typeof cursor[0] !== 'number')) {
      throw errors.invalidParams('The "after" cursor is not valid.', [{ field: 'after', message: 'is not a cursor returned by this API', type: 'invalid' }]);
    }
    const rows = await listBatchActivities(deps.db, message.batch_id, cursor ? (cursor[0] as number) : null, pageSize + 1);
    const page = rows.slice(0, pageSize);
    const entities = actorMap(await getEntities(deps.db, activityEntityKeys([message], new Map([[message.batch_id, page]]))));
    return {
      items: page.map((a) => serializeBatchActivity(a, message, entities)),
      page_info: pageInfo(pageSize, rows.length > pageSize ? encodeCursor([Number(page.at(-1)!.seq)]) : null, null),
    };
  });
}
