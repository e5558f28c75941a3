import { Type } from '@sinclair/typebox';
import { Id, RecipientReference, RecipientRequest } from '../schemas/common.js';
import { AnyObject, CommonIdentifyFields, Nullable } from '../schemas/identify.js';
import type { ApiDeps, App } from '../types.js';
import { acceptBulkOperation } from './bulk-operations.js';
import { objectKey } from './entity-helpers.js';

/*
 * objects.bulk.* (knock-api.md §2.3): queued BulkOperations applied by src/store/bulk/objects.ts.
 * The collection is checked here (a `$` collection is a 422) and stored as the operation's param.
 */

const MAX = 1000;
const CollectionParams = Type.Object({ collection: Id });

const SetBody = Type.Object({
  objects: Type.Array(Type.Object({
    id: Id,
    ...CommonIdentifyFields,
    locale: Type.Optional(Nullable(Type.String())),
    timezone: Type.Optional(Nullable(Type.String())),
  }, { additionalProperties: true }), { maxItems: MAX }),
});
const DeleteBody = Type.Object({ object_ids: Type.Array(Id, { maxItems: MAX }) });
// Up to 100 recipients per object, as objects.addSubscriptions allows per call.
const AddSubscriptionsBody = Type.Object({
  subscriptions: Type.Array(Type.Object({
    id: Id,
    recipients: Type.Array(RecipientRequest, { minItems: 1, maxItems: 100 }),
    properties: Type.Optional(Nullable(AnyObject)),
  }), { maxItems: MAX }),
});
const DeleteSubscriptionsBody = Type.Object({
  subscriptions: Type.Array(Type.Object({
    id: Id,
    recipients: Type.Array(RecipientReference, { minItems: 1, maxItems: 100 }),
  }), { maxItems: MAX }),
});

export function registerObjectBulkRoutes(app: App, deps: ApiDeps): void {
  const tags = ['objects', 'bulk operations'];

  app.post('/v1/objects/:collection/bulk/set', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Set (merge upsert) up to 1,000 objects of a collection; answers a queued BulkOperation', params: CollectionParams, body: SetBody },
  }, async (request) => {
    const { collection } = objectKey(request.params.collection, '');
    return acceptBulkOperation(deps, request, 'objects.bulk_set', request.body.objects, { collection });
  });

  app.post('/v1/objects/:collection/bulk/delete', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Delete up to 1,000 objects of a collection; answers a queued BulkOperation', params: CollectionParams, body: DeleteBody },
  }, async (request) => {
    const { collection } = objectKey(request.params.collection, '');
    return acceptBulkOperation(deps, request, 'objects.bulk_delete', request.body.object_ids, { collection });
  });

  app.post('/v1/objects/:collection/bulk/subscriptions/add', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Subscribe recipients to up to 1,000 objects (upsert; inline recipients identified); answers a queued BulkOperation', params: CollectionParams, body: AddSubscriptionsBody },
  }, async (request) => {
    const { collection } = objectKey(request.params.collection, '');
    return acceptBulkOperation(deps, request, 'objects.bulk_add_subscriptions', request.body.subscriptions, { collection });
  });

  app.post('/v1/objects/:collection/bulk/subscriptions/delete', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Unsubscribe recipients from up to 1,000 objects; answers a queued BulkOperation', params: CollectionParams, body: DeleteSubscriptionsBody },
  }, async (request) => {
    const { collection } = objectKey(request.params.collection, '');
    return acceptBulkOperation(deps, request, 'objects.bulk_delete_subscriptions', request.body.subscriptions, { collection });
  });
}
