import { deleteEntity, identifyInline } from '../entities.js';
import type { BulkHandler } from './types.js';

/** The collection comes from the path (`/v1/objects/{collection}/bulk/...`), so it is a param. */
export interface CollectionParams {
  collection: string;
}

/** objects.bulk.set: each item is `{id, ...}`, merged like PUT /v1/objects/{collection}/{id}. */
export const setObjects: BulkHandler<{ id: string } & Record<string, unknown>, CollectionParams> = {
  async apply(tx, object, { params, now }) {
    await identifyInline(tx, { collection: params.collection, id: object.id }, object, now);
  },
  describe: (object, params) => ({ id: object.id, collection: params.collection }),
};

/** objects.bulk.delete: each item is an object id; a missing object is not an error. */
export const deleteObjects: BulkHandler<string, CollectionParams> = {
  async apply(tx, id, { params }) {
    await deleteEntity(tx, { collection: params.collection, id });
  },
  describe: (id, params) => ({ id, collection: params.collection }),
};
