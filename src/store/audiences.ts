/*
 * SQL for audiences and their members (knock-api.md §2.6, AudienceMember §3.9). A membership
 * is (audience, user, tenant) with '' for "no tenant". Plans checked with EXPLAIN on
 * PostgreSQL 15:
 * - list: Limit -> Nested Loop (Index Scan using audience_members_list_idx on
 *   (audience_key, added_at, user_id, tenant) > cursor; entities_pkey per member), no Sort;
 * - add/remove: primary-key probes (ON CONFLICT / DELETE ... USING unnest).
 */
import { encodeCursor, decodeCursor, keysetPage } from './cursor.js';
import type { Queryable } from './db.js';
import type { EntityRow } from './entities.js';
import { errors } from '../domain/errors.js';

export interface AudienceMemberRow {
  user: EntityRow;
  user_id: string;
  /** null when the membership has no tenant. */
  tenant: string | null;
  added_at: Date;
}

export interface Membership {
  userId: string;
  tenant: string | null;
}

export interface AudienceMemberPage {
  entries: AudienceMemberRow[];
  after: string | null;
  before: string | null;
}

export async function audienceExists(q: Queryable, key: string): Promise<boolean> {
  const rows = await q.query('SELECT 1 FROM audiences WHERE key = $1', [key]);
  return rows.length > 0;
}

/** Creates the audience if it does not exist yet. */
export async function ensureAudience(q: Queryable, key: string, now: Date): Promise<void> {
  await q.query('INSERT INTO audiences (key, inserted_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, now]);
}

/**
 * Adds memberships (the users must exist). Adding one that exists keeps its first `added_at`,
 * so re-sending a member list is harmless.
 */
export async function addAudienceMembers(q: Queryable, key: string, members: Membership[], now: Date): Promise<void> {
  if (members.length === 0) return;
  await q.query(
    `INSERT INTO audience_members (audience_key, user_id, tenant, added_at)
     SELECT $1, m.u, m.t, $4 FROM unnest($2::text[], $3::text[]) AS m(u, t)
     ON CONFLICT (audience_key, user_id, tenant) DO NOTHING`,
    [key, members.map((m) => m.userId), members.map((m) => m.tenant ?? ''), now],
  );
}

/** Removes memberships; ones that do not exist are ignored. Returns how many were removed. */
export async function removeAudienceMembers(q: Queryable, key: string, members: Membership[]): Promise<number> {
  if (members.length === 0) return 0;
  const rows = await q.query(
    `DELETE FROM audience_members a USING unnest($2::text[], $3::text[]) AS m(u, t)
      WHERE a.audience_key = $1 AND a.user_id = m.u AND a.tenant = m.t
      RETURNING a.user_id`,
    [key, members.map((m) => m.userId), members.map((m) => m.tenant ?? '')],
  );
  return rows.length;
}

function readCursor(cursor: string | undefined, field: 'after' | 'before'): [string, string, string] | null {
  if (cursor === undefined || cursor === '') return null;
  const v = decodeCursor(cursor, 3);
  if (!v || v.some((x) => typeof x !== 'string') || Number.isNaN(Date.parse(v[0] as string))) {
    throw errors.invalidParams(`The "${field}" cursor is not valid.`, [{ field, message: 'is not a cursor returned by this API', type: 'invalid' }]);
  }
  return v as [string, string, string];
}

interface JoinedRow {
  user: EntityRow;
  user_id: string;
  tenant: string;
  added_at: Date;
}

/** Members oldest first, each with its full user, keyset-paginated over (added_at, user, tenant). */
export async function listAudienceMembers(q: Queryable, key: string, opts: { after?: string; before?: string; pageSize: number }): Promise<AudienceMemberPage> {
  const after = readCursor(opts.after, 'after');
  const before = readCursor(opts.before, 'before');
  const params: unknown[] = [key];
  const where = ['a.audience_key = $1'];
  const cmp = (c: [string, string, string], op: string) => {
    params.push(c[0], c[1], c[2]);
    where.push(`(a.added_at, a.user_id, a.tenant) ${op} ($${params.length - 2}::timestamptz, $${params.length - 1}, $${params.length})`);
  };
  if (after) cmp(after, '>');
  if (before) cmp(before, '<');
  const order = before ? 'DESC' : 'ASC';
  params.push(opts.pageSize + 1);
  const rows = await q.query<JoinedRow>(
    `SELECT to_jsonb(e) AS user, a.user_id, a.tenant, a.added_at
       FROM audience_members a JOIN entities e ON e.collection = a.user_collection AND e.id = a.user_id
      WHERE ${where.join(' AND ')}
      ORDER BY a.added_at ${order}, a.user_id ${order}, a.tenant ${order}
      LIMIT $${params.length}`,
    params,
  );
  const page = keysetPage(rows, opts.pageSize, { after, before }, (r) => encodeCursor([new Date(r.added_at), r.user_id, r.tenant]));
  return {
    entries: page.items.map((r) => ({
      // jsonb brings timestamps back as strings; the user serializer accepts either.
      user: { ...r.user, created_at: r.user.created_at ? new Date(r.user.created_at) : null, inserted_at: new Date(r.user.inserted_at), updated_at: new Date(r.user.updated_at) },
      user_id: r.user_id,
      tenant: r.tenant === '' ? null : r.tenant,
      added_at: r.added_at,
    })),
    after: page.after,
    before: page.before,
  };
}
