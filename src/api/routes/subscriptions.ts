import { Type } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import { USERS, toEntityKey, type EntityKey } from '../../domain/recipients.js';
import { ensureEntities, getPreferenceSets, identifyInline } from '../../store/entities.js';
import { addSubscriptions, deleteSubscriptions, listSubscriptions, type SubscriptionRow } from '../../store/subscriptions.js';
import { CursorQuery, Id, RecipientReference, RecipientRequest, pageInfo } from '../schemas/common.js';
import { serializePreferenceSet } from '../serializers/entities.js';
import { serializeSubscription } from '../serializers/subscriptions.js';
import type { ApiDeps, App } from '../types.js';
import { objectKey } from './entity-helpers.js';

const ObjectParams = Type.Object({ collection: Id, object_id: Id });
const Include = Type.Optional(Type.Union([Type.Array(Type.Literal('preferences')), Type.Literal('preferences')]));
const Refs = Type.Optional(Type.Array(RecipientReference, { maxItems: 100 }));

const ObjectListQuery = Type.Composite([CursorQuery, Type.Object({
  mode: Type.Optional(Type.Union([Type.Literal('object'), Type.Literal('recipient')], { default: 'object', description: '`object`: subscribers of this object; `recipient`: objects this object subscribes to' })),
  recipients: Refs,
  objects: Refs,
  include: Include,
})]);
const UserListQuery = Type.Composite([CursorQuery, Type.Object({ objects: Refs, include: Include })]);

const AddBody = Type.Object({
  recipients: Type.Array(RecipientRequest, { minItems: 1, maxItems: 100, description: 'User ids, inline users, or object references / inline objects (identified first)' }),
  properties: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])),
});
const DeleteBody = Type.Object({ recipients: Type.Array(RecipientReference, { minItems: 1, maxItems: 100 }) });

/**
 * Object subscriptions (knock-api.md §2.3, §3.9). A subscriber is a user or an object; adding
 * upserts (new properties replace old ones) and identifies inline recipients first.
 */
export function registerSubscriptionRoutes(app: App, deps: ApiDeps): void {
  const tags = ['objects'];
  const path = '/v1/objects/:collection/:object_id/subscriptions';

  app.get(path, {
    config: { auth: 'secret' },
    schema: { tags, summary: "List an object's subscriptions (subscribers, or with mode=recipient what it subscribes to), newest first", params: ObjectParams, querystring: ObjectListQuery },
  }, async (request) => {
    const q = request.query;
    const key = objectKey(request.params.collection, request.params.object_id);
    const side = q.mode === 'recipient' ? 'recipient' : 'object';
    const only = (side === 'object' ? q.recipients : q.objects)?.map(toEntityKey);
    return listPage(deps, side, key, q, only);
  });

  app.post(path, {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Subscribe recipients to an object (upsert; inline recipients are identified)', params: ObjectParams, body: AddBody },
  }, async (request) => {
    const object = objectKey(request.params.collection, request.params.object_id);
    const { recipients, properties } = request.body;
    const now = deps.clock.now();
    const rows = await deps.db.transaction(async (tx) => {
      const keys: EntityKey[] = [];
      const plain: EntityKey[] = [object];
      for (const r of recipients) {
        const k = toEntityKey(r);
        if (k.collection === object.collection && k.id === object.id) {
          throw errors.invalidParams('An object cannot subscribe to itself.', [{ field: 'recipients', message: 'contains the object itself', type: 'invalid' }]);
        }
        keys.push(k);
        if (typeof r === 'object' && Object.keys(r).some((f) => f !== 'id' && f !== 'collection')) await identifyInline(tx, k, r, now);
        else plain.push(k);
      }
      await ensureEntities(tx, plain, now);
      return addSubscriptions(tx, object, dedupe(keys), properties ?? null, now);
    });
    return rows.map(serializeSubscription);
  });

  app.delete(path, {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Unsubscribe recipients from an object; returns the deleted subscriptions', params: ObjectParams, body: DeleteBody },
  }, async (request) => {
    const object = objectKey(request.params.collection, request.params.object_id);
    const rows = await deps.db.transaction((tx) => deleteSubscriptions(tx, object, dedupe(request.body.recipients.map(toEntityKey))));
    return rows.map(serializeSubscription);
  });

  app.get('/v1/users/:user_id/subscriptions', {
    config: { auth: 'secret' },
    schema: { tags: ['users'], summary: 'List the objects a user subscribes to, newest first', params: Type.Object({ user_id: Id }), querystring: UserListQuery },
  }, async (request) => {
    const q = request.query;
    return listPage(deps, 'recipient', { collection: USERS, id: request.params.user_id }, q, q.objects?.map(toEntityKey));
  });
}

async function listPage(deps: ApiDeps, side: 'object' | 'recipient', key: EntityKey, q: { after?: string; before?: string; page_size?: number; include?: string | string[] }, only: EntityKey[] | undefined) {
  const pageSize = q.page_size ?? 50;
  const page = await listSubscriptions(deps.db, side, key, { after: q.after, before: q.before, pageSize, only });
  let entries: object[] = page.entries.map(serializeSubscription);
  if (([] as string[]).concat(q.include ?? []).includes('preferences')) entries = await withRecipientPreferences(deps, page.entries);
  return { entries, page_info: pageInfo(pageSize, page.after, page.before) };
}

/** `include[]=preferences`: each subscription's recipient carries its preference sets. */
async function withRecipientPreferences(deps: ApiDeps, rows: SubscriptionRow[]) {
  const sets = await getPreferenceSets(deps.db, rows.map((r) => r.recipient));
  return rows.map((row) => {
    const s = serializeSubscription(row);
    const own = sets.filter((p) => p.collection === row.recipient.collection && p.id === row.recipient.id);
    return { ...s, recipient: { ...s.recipient, preferences: Object.fromEntries(own.map((p) => [p.set_id, serializePreferenceSet(p)])) } };
  });
}

function dedupe(keys: EntityKey[]): EntityKey[] {
  const seen = new Set<string>();
  return keys.filter((k) => {
    const id = `${k.collection}\u0000${k.id}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
