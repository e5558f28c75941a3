/*
 * SQL for object subscriptions. Plans checked with EXPLAIN on PostgreSQL 15 (an object with
 * 100k subscribers):
 * - subscribers of an object, newest first: Index Scan using subscriptions_object_list_idx
 *   (object_collection, object_id), no Sort;
 * - objects a recipient subscribes to: Index Scan using subscriptions_recipient_idx, no Sort;
 * - add/delete: primary-key lookups.
 */
import type { EntityKey } from '../domain/recipients.js';
import { decodeCursor, encodeCursor, keysetPage } from './cursor.js';
import type { Queryable } from './db.js';
import type { EntityRow } from './entities.js';
import { errors } from '../domain/errors.js';

export interface SubscriptionRow {
  object: EntityRow;
  recipient: EntityRow;
  properties: Record<string, unknown> | null;
  inserted_at: Date;
  updated_at: Date;
}

export interface SubscriptionPage {
  entries: SubscriptionRow[];
  after: string | null;
  before: string | null;
}

interface JoinedRow {
  object: EntityRow;
  recipient: EntityRow;
  properties: Record<string, unknown> | null;
  inserted_at: Date;
  updated_at: Date;
}

/** Both entities of a subscription as JSON, so one query returns the full Subscription. */
const COLUMNS = 'to_jsonb(o) AS object, to_jsonb(r) AS recipient, s.properties, s.inserted_at, s.updated_at';
const FROM = `subscriptions s
  JOIN entities o ON o.collection = s.object_collection AND o.id = s.object_id
  JOIN entities r ON r.collection = s.recipient_collection AND r.id = s.recipient_id`;

/** jsonb rows come back with ISO strings; the serializers expect the row shape of `entities`. */
function entityFromJson(e: EntityRow): EntityRow {
  return {
    ...e,
    created_at: e.created_at ? new Date(e.created_at) : null,
    inserted_at: new Date(e.inserted_at),
    updated_at: new Date(e.updated_at),
  };
}

function toRow(r: JoinedRow): SubscriptionRow {
  return { object: entityFromJson(r.object), recipient: entityFromJson(r.recipient), properties: r.properties, inserted_at: r.inserted_at, updated_at: r.updated_at };
}

/**
 * Upserts subscriptions of `recipients` to `object` with `properties` (an existing subscription
 * gets the new properties). Every entity must exist already (the caller identifies inline
 * recipients first, in the same transaction). Returns the subscriptions as stored.
 */
export async function addSubscriptions(q: Queryable, object: EntityKey, recipients: EntityKey[], properties: Record<string, unknown> | null, now: Date): Promise<SubscriptionRow[]> {
  if (recipients.length === 0) return [];
  await q.query(
    `INSERT INTO subscriptions (object_collection, object_id, recipient_collection, recipient_id, properties, inserted_at, updated_at)
     SELECT $1, $2, r.c, r.i, $5::jsonb, $6, $6 FROM unnest($3::text[], $4::text[]) AS r(c, i)
     ON CONFLICT (object_collection, object_id, recipient_collection, recipient_id)
     DO UPDATE SET properties = EXCLUDED.properties, updated_at = EXCLUDED.updated_at`,
    [object.collection, object.id, recipients.map((r) => r.collection), recipients.map((r) => r.id), properties === null ? null : JSON.stringify(properties), now],
  );
  return getSubscriptions(q, object, recipients);
}

/** The given subscriptions of one object, in the order of `recipients` (missing ones left out). */
export async function getSubscriptions(q: Queryable, object: EntityKey, recipients: EntityKey[]): Promise<SubscriptionRow[]> {
  const rows = await q.query<JoinedRow & { ord: number }>(
    `SELECT ${COLUMNS}, k.ord FROM ${FROM}
       JOIN unnest($3::text[], $4::text[]) WITH ORDINALITY AS k(c, i, ord) ON k.c = s.recipient_collection AND k.i = s.recipient_id
      WHERE s.object_collection = $1 AND s.object_id = $2
      ORDER BY k.ord`,
    [object.collection, object.id, recipients.map((r) => r.collection), recipients.map((r) => r.id)],
  );
  return rows.map(toRow);
}

/** Deletes subscriptions of `recipients` to `object`; returns the deleted ones. */
export async function deleteSubscriptions(q: Queryable, object: EntityKey, recipients: EntityKey[]): Promise<SubscriptionRow[]> {
  const existing = await getSubscriptions(q, object, recipients);
  if (existing.length === 0) return [];
  await q.query(
    `DELETE FROM subscriptions s USING unnest($3::text[], $4::text[]) AS r(c, i)
      WHERE s.object_collection = $1 AND s.object_id = $2 AND s.recipient_collection = r.c AND s.recipient_id = r.i`,
    [object.collection, object.id, existing.map((s) => s.recipient.collection), existing.map((s) => s.recipient.id)],
  );
  return existing;
}

export interface ListSubscriptionsOptions {
  after?: string;
  before?: string;
  pageSize: number;
  /** Only these counterparts (recipients in mode object, objects in mode recipient). */
  only?: EntityKey[];
}

/** Reads a cursor over (inserted_at, collection, id); a foreign one is the client's error. */
function readCursor(cursor: string | undefined, field: 'after' | 'before'): [string, string, string] | null {
  if (cursor === undefined || cursor === '') return null;
  const v = decodeCursor(cursor, 3);
  if (!v || v.some((x) => typeof x !== 'string') || Number.isNaN(Date.parse(v[0] as string))) {
    throw errors.invalidParams(`The "${field}" cursor is not valid.`, [{ field, message: 'is not a cursor returned by this API', type: 'invalid' }]);
  }
  return v as [string, string, string];
}

/**
 * Newest first. `side` says which end is fixed: `object` lists the subscribers of `key`,
 * `recipient` lists the objects `key` subscribes to.
 */
export async function listSubscriptions(q: Queryable, side: 'object' | 'recipient', key: EntityKey, opts: ListSubscriptionsOptions): Promise<SubscriptionPage> {
  const fixed = side === 'object' ? 's.object' : 's.recipient';
  const other = side === 'object' ? 's.recipient' : 's.object';
  const params: unknown[] = [key.collection, key.id];
  const where = [`${fixed}_collection = $1`, `${fixed}_id = $2`];
  if (opts.only && opts.only.length > 0) {
    params.push(opts.only.map((k) => k.collection), opts.only.map((k) => k.id));
    where.push(`(${other}_collection, ${other}_id) IN (SELECT * FROM unnest($${params.length - 1}::text[], $${params.length}::text[]))`);
  }
  const after = readCursor(opts.after, 'after');
  const before = readCursor(opts.before, 'before');
  const cmp = (c: [string, string, string], op: string) => {
    params.push(c[0], c[1], c[2]);
    where.push(`(s.inserted_at, ${other}_collection, ${other}_id) ${op} ($${params.length - 2}::timestamptz, $${params.length - 1}, $${params.length})`);
  };
  if (after) cmp(after, '<');
  if (before) cmp(before, '>');
  const order = before ? 'ASC' : 'DESC';
  params.push(opts.pageSize + 1);
  const rows = await q.query<JoinedRow>(
    `SELECT ${COLUMNS} FROM ${FROM}
      WHERE ${where.join(' AND ')}
      ORDER BY s.inserted_at ${order}, ${other}_collection ${order}, ${other}_id ${order}
      LIMIT $${params.length}`,
    params,
  );
  const otherOf = (r: JoinedRow) => (side === 'object' ? r.recipient : r.object);
  const page = keysetPage(rows, opts.pageSize, { after, before }, (r) => encodeCursor([new Date(r.inserted_at), otherOf(r).collection, otherOf(r).id]));
  return { entries: page.items.map(toRow), after: page.after, before: page.before };
}
