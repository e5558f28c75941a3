import type { EntityKey } from '../../domain/recipients.js';
import type { BatchMemberRow } from '../../store/batches.js';
import type { EntityRow } from '../../store/entities.js';
import type { MessageRow } from '../../store/messages.js';
import { serializeEntity } from './entities.js';
import { actorKeys } from './messages.js';

const iso = (d: Date | string) => new Date(d).toISOString();
const keyOf = (k: EntityKey) => `${k.collection}\u0000${k.id}`;

/** Entities by key, for resolving activity actors and recipients on a page. */
export type EntityLookup = ReadonlyMap<string, EntityRow>;

function recipientOf(entities: EntityLookup, k: EntityKey) {
  const row = entities.get(keyOf(k));
  return row ? serializeEntity(row) : { __typename: k.collection === '$users' ? 'User' : 'Object', id: k.id, ...(k.collection === '$users' ? {} : { collection: k.collection }) };
}

/** Knock's Activity for one batch member: that trigger's actor and data, and the recipient. */
export function serializeBatchActivity(a: BatchMemberRow, m: MessageRow, entities: EntityLookup) {
  return {
    __typename: 'Activity',
    id: a.recipient_run_id,
    inserted_at: iso(a.inserted_at),
    updated_at: iso(a.inserted_at),
    actor: a.actor ? recipientOf(entities, a.actor) : null,
    recipient: recipientOf(entities, { collection: m.recipient_collection, id: m.recipient_id }),
    data: a.data,
  };
}

/** A message not produced after a batch has exactly one activity: its own trigger. */
export function serializeSingleActivity(m: MessageRow, entities: EntityLookup) {
  const actor = actorKeys(m)[0];
  return {
    __typename: 'Activity',
    id: m.recipient_run_id ?? m.id,
    inserted_at: iso(m.inserted_at),
    updated_at: iso(m.inserted_at),
    actor: actor ? recipientOf(entities, actor) : null,
    recipient: recipientOf(entities, { collection: m.recipient_collection, id: m.recipient_id }),
    data: m.data,
  };
}

/** Entity keys a page of activities needs (actors and recipients). */
export function activityEntityKeys(messages: MessageRow[], batches: ReadonlyMap<string, BatchMemberRow[]>): EntityKey[] {
  const keys = new Map<string, EntityKey>();
  for (const m of messages) {
    const r = { collection: m.recipient_collection, id: m.recipient_id };
    keys.set(keyOf(r), r);
    for (const a of actorKeys(m)) keys.set(keyOf(a), a);
    for (const a of (m.batch_id ? batches.get(m.batch_id) : undefined) ?? []) if (a.actor) keys.set(keyOf(a.actor), a.actor);
  }
  return [...keys.values()];
}
