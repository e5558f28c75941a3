/*
 * SQL for schedules (knock-api.md §2.6, §3.8). Plans checked with EXPLAIN on PostgreSQL 15
 * (100k schedules, half in one workflow, a fifth on one user, 10% finished):
 * - claim: Limit -> LockRows -> Index Scan using schedules_due_idx (next_occurrence_at <= now;
 *   the lease is a filter on the due rows), then schedules_pkey for the update and
 *   entities_pkey for the recipient's time zone;
 * - list by workflow (with tenant and cursor too): Limit -> Nested Loop Left Join -> Index Scan
 *   using schedules_workflow_idx (workflow_key, (inserted_at, id) < cursor), tenant as a
 *   filter, entities by primary key (memoized) — no Sort, so page N costs what page 1 does;
 * - list by one recipient (users/objects listSchedules): Index Scan using
 *   schedules_recipient_idx, no Sort;
 * - list by workflow with several recipients[]: one schedules_recipient_idx probe per
 *   recipient, workflow as a filter, then a Sort of the few matches;
 * - get/update/delete by ids: schedules_pkey.
 */
import { errors } from '../domain/errors.js';
import type { EntityKey } from '../domain/recipients.js';
import type { RepeatRule } from '../domain/schedule-repeat.js';
import { decodeCursor, encodeCursor, keysetPage } from './cursor.js';
import type { Queryable } from './db.js';
import type { EntityRow } from './entities.js';

export interface ScheduleRow {
  id: string;
  workflow_key: string;
  recipient: EntityRow;
  actor: EntityRow | null;
  tenant_id: string | null;
  data: Record<string, unknown> | null;
  repeats: RepeatRule[];
  scheduled_at: Date | null;
  ending_at: Date | null;
  next_occurrence_at: Date | null;
  last_occurrence_at: Date | null;
  inserted_at: Date;
  updated_at: Date;
}

/** The columns a create or an update writes (everything but ids, leases and timestamps). */
export interface ScheduleFields {
  actor: EntityKey | null;
  tenant_id: string | null;
  data: Record<string, unknown> | null;
  repeats: RepeatRule[];
  scheduled_at: Date | null;
  ending_at: Date | null;
  next_occurrence_at: Date | null;
}

export interface NewSchedule extends ScheduleFields {
  id: string;
  workflow_key: string;
  recipient: EntityKey;
}

/** A schedule as its firing worker sees it: the recipient's time zone comes with the claim. */
export interface ClaimedSchedule {
  id: string;
  workflow_key: string;
  recipient: EntityKey;
  recipient_timezone: unknown;
  actor: EntityKey | null;
  tenant_id: string | null;
  data: Record<string, unknown> | null;
  repeats: RepeatRule[];
  scheduled_at: Date | null;
  ending_at: Date | null;
  next_occurrence_at: Date;
  inserted_at: Date;
}

const SELECT = `SELECT s.id, s.workflow_key, s.tenant_id, s.data, s.repeats, s.scheduled_at, s.ending_at,
       s.next_occurrence_at, s.last_occurrence_at, s.inserted_at, s.updated_at,
       to_jsonb(r) AS recipient, to_jsonb(a) AS actor
  FROM schedules s
  JOIN entities r ON r.collection = s.recipient_collection AND r.id = s.recipient_id
  LEFT JOIN entities a ON a.collection = s.actor_collection AND a.id = s.actor_id`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const date = (v: Date | string | null) => (v === null ? null : new Date(v));

/** jsonb rows carry ISO strings; the serializers expect the row shape of `entities`. */
function entityFromJson(e: EntityRow): EntityRow {
  return { ...e, created_at: date(e.created_at), inserted_at: new Date(e.inserted_at), updated_at: new Date(e.updated_at) };
}

function toRow(r: ScheduleRow): ScheduleRow {
  return {
    ...r,
    recipient: entityFromJson(r.recipient),
    actor: r.actor ? entityFromJson(r.actor) : null,
    scheduled_at: date(r.scheduled_at),
    ending_at: date(r.ending_at),
    next_occurrence_at: date(r.next_occurrence_at),
    last_occurrence_at: date(r.last_occurrence_at),
    inserted_at: new Date(r.inserted_at),
    updated_at: new Date(r.updated_at),
  };
}

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/** Inserts schedules (the recipients, and actors, must exist); returns them as stored, in order. */
export async function insertSchedules(q: Queryable, schedules: NewSchedule[], now: Date): Promise<ScheduleRow[]> {
  if (schedules.length === 0) return [];
  const rows = schedules.map((s) => ({
    id: s.id, workflow_key: s.workflow_key, recipient_collection: s.recipient.collection, recipient_id: s.recipient.id,
    actor_collection: s.actor?.collection ?? null, actor_id: s.actor?.id ?? null, tenant_id: s.tenant_id, data: s.data,
    repeats: s.repeats, scheduled_at: iso(s.scheduled_at), ending_at: iso(s.ending_at), next_occurrence_at: iso(s.next_occurrence_at),
  }));
  await q.query(
    `INSERT INTO schedules (id, workflow_key, recipient_collection, recipient_id, actor_collection, actor_id, tenant_id, data,
                            repeats, scheduled_at, ending_at, next_occurrence_at, inserted_at, updated_at)
     SELECT x.id, x.workflow_key, x.recipient_collection, x.recipient_id, x.actor_collection, x.actor_id, x.tenant_id, x.data,
            COALESCE(x.repeats, '[]'), x.scheduled_at, x.ending_at, x.next_occurrence_at, $2, $2
       FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, workflow_key text, recipient_collection text, recipient_id text,
            actor_collection text, actor_id text, tenant_id text, data jsonb, repeats jsonb,
            scheduled_at timestamptz, ending_at timestamptz, next_occurrence_at timestamptz)`,
    [JSON.stringify(rows), now],
  );
  return getSchedules(q, schedules.map((s) => s.id));
}

/** The given schedules in the order of `ids` (unknown ids left out); `forUpdate` row-locks them. */
export async function getSchedules(q: Queryable, ids: string[], opts: { forUpdate?: boolean } = {}): Promise<ScheduleRow[]> {
  // An id that is not a UUID names no schedule (and must not reach the uuid cast).
  ids = [...new Set(ids.filter((id) => UUID.test(id)))];
  if (ids.length === 0) return [];
  const rows = await q.query<ScheduleRow & { ord: number }>(
    `${SELECT}
       JOIN unnest($1::uuid[]) WITH ORDINALITY AS k(id, ord) ON k.id = s.id
      ORDER BY k.ord${opts.forUpdate ? ' FOR UPDATE OF s' : ''}`,
    [ids],
  );
  return rows.map(({ ord: _ord, ...r }) => toRow(r));
}

/**
 * Writes new fields to existing schedules (one set of values per schedule, as computed by the
 * caller from each one's recipient). Clears any firing claim: a worker firing the old version
 * then finds its conditional advance no longer applies.
 */
export async function updateSchedules(q: Queryable, updates: ({ id: string } & ScheduleFields)[], now: Date): Promise<void> {
  if (updates.length === 0) return;
  const rows = updates.map((u) => ({
    id: u.id, actor_collection: u.actor?.collection ?? null, actor_id: u.actor?.id ?? null, tenant_id: u.tenant_id, data: u.data,
    repeats: u.repeats, scheduled_at: iso(u.scheduled_at), ending_at: iso(u.ending_at), next_occurrence_at: iso(u.next_occurrence_at),
  }));
  await q.query(
    `UPDATE schedules s SET actor_collection = x.actor_collection, actor_id = x.actor_id, tenant_id = x.tenant_id, data = x.data,
            repeats = COALESCE(x.repeats, '[]'), scheduled_at = x.scheduled_at, ending_at = x.ending_at,
            next_occurrence_at = x.next_occurrence_at, lease_owner = NULL, lease_until = NULL, updated_at = $2
       FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, actor_collection text, actor_id text, tenant_id text, data jsonb, repeats jsonb,
            scheduled_at timestamptz, ending_at timestamptz, next_occurrence_at timestamptz)
      WHERE s.id = x.id`,
    [JSON.stringify(rows), now],
  );
}

/** Deletes schedules; returns the deleted ones as they were, in the order of `ids`. */
export async function deleteSchedules(q: Queryable, ids: string[]): Promise<ScheduleRow[]> {
  const existing = await getSchedules(q, ids, { forUpdate: true });
  if (existing.length === 0) return [];
  await q.query('DELETE FROM schedules WHERE id = ANY($1::uuid[])', [existing.map((s) => s.id)]);
  return existing;
}

export interface ScheduleFilter {
  workflow?: string;
  /** Only schedules of one of these recipients. */
  recipients?: EntityKey[];
  tenant?: string;
}

export interface SchedulePage {
  entries: ScheduleRow[];
  after: string | null;
  before: string | null;
}

function readCursor(cursor: string | undefined, field: 'after' | 'before'): [string, string] | null {
  if (cursor === undefined || cursor === '') return null;
  const v = decodeCursor(cursor, 2);
  if (!v || typeof v[0] !== 'string' || typeof v[1] !== 'string' || Number.isNaN(Date.parse(v[0])) || !UUID.test(v[1])) {
    throw errors.invalidParams(`The "${field}" cursor is not valid.`, [{ field, message: 'is not a cursor returned by this API', type: 'invalid' }]);
  }
  return [v[0], v[1]];
}

/** Newest first, keyset-paginated over (inserted_at, id). */
export async function listSchedules(q: Queryable, filter: ScheduleFilter, page: { after?: string; before?: string; pageSize: number }): Promise<SchedulePage> {
  const params: unknown[] = [];
  const where: string[] = [];
  const add = (sql: string, ...values: unknown[]) => {
    where.push(sql.replace(/\?/g, () => { params.push(values.shift()); return `$${params.length}`; }));
  };
  if (filter.workflow !== undefined) add('s.workflow_key = ?', filter.workflow);
  if (filter.recipients && filter.recipients.length === 1) {
    // One recipient (users/objects listSchedules): equality keeps the index order, so no Sort.
    add('s.recipient_collection = ? AND s.recipient_id = ?', filter.recipients[0].collection, filter.recipients[0].id);
  } else if (filter.recipients && filter.recipients.length > 1) {
    add('(s.recipient_collection, s.recipient_id) IN (SELECT * FROM unnest(?::text[], ?::text[]))',
      filter.recipients.map((k) => k.collection), filter.recipients.map((k) => k.id));
  }
  if (filter.tenant !== undefined) add('s.tenant_id = ?', filter.tenant);
  const after = readCursor(page.after, 'after');
  const before = readCursor(page.before, 'before');
  if (after) add('(s.inserted_at, s.id) < (?::timestamptz, ?::uuid)', ...after);
  if (before) add('(s.inserted_at, s.id) > (?::timestamptz, ?::uuid)', ...before);
  const order = before ? 'ASC' : 'DESC';
  params.push(page.pageSize + 1);
  const rows = await q.query<ScheduleRow>(
    `${SELECT}
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY s.inserted_at ${order}, s.id ${order}
      LIMIT $${params.length}`,
    params,
  );
  const cut = keysetPage(rows, page.pageSize, { after, before }, (r) => encodeCursor([new Date(r.inserted_at), r.id]));
  return { entries: cut.items.map(toRow), after: cut.after, before: cut.before };
}

/**
 * Claims up to `limit` due schedules for `owner` until `leaseUntil` (FOR UPDATE SKIP LOCKED, so
 * concurrent workers claim disjoint sets; a live lease keeps a claimed row from being claimed
 * again after this statement commits). One autocommitted statement: the trigger that follows
 * runs in its own transaction.
 */
export async function claimDueSchedules(q: Queryable, owner: string, now: Date, leaseUntil: Date, limit: number): Promise<ClaimedSchedule[]> {
  const rows = await q.query<{
    id: string; workflow_key: string; recipient_collection: string; recipient_id: string; recipient_timezone: unknown;
    actor_collection: string | null; actor_id: string | null; tenant_id: string | null; data: Record<string, unknown> | null;
    repeats: RepeatRule[]; scheduled_at: Date | null; ending_at: Date | null; next_occurrence_at: Date; inserted_at: Date;
  }>(
    `WITH due AS (
       SELECT id FROM schedules
        WHERE next_occurrence_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
        ORDER BY next_occurrence_at
        LIMIT $4
        FOR UPDATE SKIP LOCKED
     )
     UPDATE schedules s SET lease_owner = $2, lease_until = $3
       FROM due WHERE s.id = due.id
     RETURNING s.id, s.workflow_key, s.recipient_collection, s.recipient_id, s.actor_collection, s.actor_id, s.tenant_id, s.data,
               s.repeats, s.scheduled_at, s.ending_at, s.next_occurrence_at, s.inserted_at,
               (SELECT e.properties->'timezone' FROM entities e
                 WHERE e.collection = s.recipient_collection AND e.id = s.recipient_id) AS recipient_timezone`,
    [now, owner, leaseUntil, limit],
  );
  return rows
    .map((r) => ({
      id: r.id,
      workflow_key: r.workflow_key,
      recipient: { collection: r.recipient_collection, id: r.recipient_id },
      recipient_timezone: r.recipient_timezone,
      actor: r.actor_collection !== null && r.actor_id !== null ? { collection: r.actor_collection, id: r.actor_id } : null,
      tenant_id: r.tenant_id,
      data: r.data,
      repeats: r.repeats,
      scheduled_at: date(r.scheduled_at),
      ending_at: date(r.ending_at),
      next_occurrence_at: new Date(r.next_occurrence_at),
      inserted_at: new Date(r.inserted_at),
    }))
    .sort((a, b) => a.next_occurrence_at.getTime() - b.next_occurrence_at.getTime());
}

/**
 * Moves a fired schedule on, only if `owner` still holds it at the occurrence it claimed (an
 * update or a delete since the claim wins). `fired` null leaves last_occurrence_at as it was;
 * `next` null finishes the schedule. Returns whether the row changed.
 */
export async function advanceSchedule(q: Queryable, a: { id: string; owner: string; due: Date; fired: Date | null; next: Date | null }): Promise<boolean> {
  const rows = await q.query(
    `UPDATE schedules SET next_occurrence_at = $4, last_occurrence_at = COALESCE($5, last_occurrence_at),
            lease_owner = NULL, lease_until = NULL
      WHERE id = $1 AND lease_owner = $2 AND next_occurrence_at = $3
      RETURNING id`,
    [a.id, a.owner, a.due, a.next, a.fired],
  );
  return rows.length > 0;
}
