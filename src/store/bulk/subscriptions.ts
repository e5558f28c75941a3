import { errors } from '../../domain/errors.js';
import { sameEntity, toEntityKey, type EntityKey, type RecipientReference, type RecipientRequest } from '../../domain/recipients.js';
import { ensureEntities, identifyInline } from '../entities.js';
import { addSubscriptions, deleteSubscriptions } from '../subscriptions.js';
import type { CollectionParams } from './objects.js';
import type { BulkHandler } from './types.js';

interface AddItem {
  id: string;
  recipients: RecipientRequest[];
  properties?: Record<string, unknown> | null;
}

interface DeleteItem {
  id: string;
  recipients: RecipientReference[];
}

/** One key per entity: the upsert may not touch the same subscription twice in one statement. */
function dedupe(keys: EntityKey[]): EntityKey[] {
  const seen = new Set<string>();
  return keys.filter((k) => {
    const s = `${k.collection}\u0000${k.id}`;
    if (seen.has(s)) return false;
    seen.add(s);
    return true;
  });
}

/**
 * objects.bulk.addSubscriptions: each item subscribes `recipients` to the object `id` of the
 * collection, as POST /v1/objects/{collection}/{id}/subscriptions does (upsert, inline recipients
 * identified, missing entities created). An object listed among its own recipients fails the
 * item, and its savepoint undoes the identifications made before.
 */
export const addObjectSubscriptions: BulkHandler<AddItem, CollectionParams> = {
  async apply(tx, item, { params, now }) {
    const object = { collection: params.collection, id: item.id };
    const keys: EntityKey[] = [];
    const plain: EntityKey[] = [object];
    for (const r of item.recipients) {
      const key = toEntityKey(r);
      if (sameEntity(key, object)) throw errors.invalidParams('An object cannot subscribe to itself.');
      keys.push(key);
      if (typeof r === 'object' && Object.keys(r).some((f) => f !== 'id' && f !== 'collection')) await identifyInline(tx, key, r, now);
      else plain.push(key);
    }
    await ensureEntities(tx, plain, now);
    await addSubscriptions(tx, object, dedupe(keys), item.properties ?? null, now);
  },
  describe: (item, params) => ({ id: item.id, collection: params.collection }),
};

/** objects.bulk.deleteSubscriptions: unsubscribes `recipients` from the object `id`; missing ones are ignored. */
export const deleteObjectSubscriptions: BulkHandler<DeleteItem, CollectionParams> = {
  async apply(tx, item, { params }) {
    await deleteSubscriptions(tx, { collection: params.collection, id: item.id }, dedupe(item.recipients.map(toEntityKey)));
  },
  describe: (item, params) => ({ id: item.id, collection: params.collection }),
};
