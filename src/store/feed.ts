/**
 * One recipient's feed on one channel: a page of items and the badge counts (total, unread,
 * unseen), both over the same scope. Also the realtime check of many feeds at once
 * (`checkFeeds`).
 */
import type { EntityKey } from '../domain/recipients.js';
import type { TenantScope } from '../domain/user-grants.js';
import { readTimeIdCursor } from './cursor.js';
import type { Queryable } from './db.js';
import {
  Sql, applyCriteria, listMessages, messageCursor,
  type EngagementFilter, type InsertedAtRange, type MessageCriteria, type MessagePage, type MessageRow, type PageOptions,
} from './messages.js';

export type FeedStatus = 'unread' | 'read' | 'unseen' | 'seen' | 'all';
export type FeedArchived = 'exclude' | 'include' | 'only';

export interface FeedQuery {
  recipient: EntityKey;
  channelId: string;
  status?: FeedStatus;
  archived?: FeedArchived;
  source?: string;
  tenant?: string;
  hasTenant?: boolean;
  categories?: string[];
  triggerData?: Record<string, unknown>;
  insertedAt?: InsertedAtRange;
  /** A user token's tenant grants narrow the feed to these tenants. */
  tenantScope?: TenantScope;
}

export interface FeedCounts {
  total_count: number;
  unread_count: number;
  unseen_count: number;
}

/**
 * The feed's scope: one recipient's messages on one channel that were actually delivered
 * (sandboxed `not_sent` messages never show), narrowed by tenant, workflow, categories and data.
 */
function feedScope(f: FeedQuery): MessageCriteria {
  return {
    recipients: [f.recipient],
    channelId: f.channelId,
    excludeStatuses: ['not_sent'],
    tenants: f.tenant !== undefined ? [f.tenant] : undefined,
    hasTenant: f.hasTenant,
    workflows: f.source !== undefined ? [f.source] : undefined,
    categories: f.categories,
    triggerData: f.triggerData,
    tenantScope: f.tenantScope,
  };
}

/** What a page of the feed shows: the scope narrowed by status, archived and date range. */
function listCriteria(f: FeedQuery): MessageCriteria {
  const engagementAll: EngagementFilter[] = [];
  if (f.status && f.status !== 'all') engagementAll.push(f.status);
  const archived = f.archived ?? 'exclude';
  if (archived === 'exclude') engagementAll.push('unarchived');
  if (archived === 'only') engagementAll.push('archived');
  return { ...feedScope(f), engagementAll, insertedAt: f.insertedAt };
}

/** What the badge counts count: the scope's non-archived items. */
const countCriteria = (f: FeedQuery): MessageCriteria => ({ ...feedScope(f), engagementAll: ['unarchived'] });

/** One page of a feed, newest first. */
export async function listFeedItems(q: Queryable, f: FeedQuery, page: PageOptions): Promise<MessagePage> {
  return listMessages(q, listCriteria(f), page);
}

/**
 * The badge counts over the feed's scope: non-archived items, whatever page, status or date
 * range was asked for (the browser client adjusts these optimistically on the same basis).
 */
export async function countFeed(q: Queryable, f: FeedQuery): Promise<FeedCounts> {
  const s = new Sql();
  applyCriteria(s, countCriteria(f));
  const rows = await q.query<FeedCounts>(
    `SELECT count(*)::int AS total_count,
            (count(*) FILTER (WHERE m.read_at IS NULL))::int AS unread_count,
            (count(*) FILTER (WHERE m.seen_at IS NULL))::int AS unseen_count
     FROM messages m ${s.where()}`,
    s.params,
  );
  return rows[0];
}

/** A realtime check of one feed: what is new after the cursor of the newest item already reported. */
export interface FeedProbe {
  query: FeedQuery;
  /** The cursor (`__cursor`) of the newest item already reported; null: none yet. */
  after: string | null;
  /** `head`: only the newest new item (is there news?); `items`: the new items themselves. */
  mode: 'head' | 'items';
}

export interface FeedNews {
  counts: FeedCounts;
  /** The cursor of the newest new item, or null when nothing is new. */
  newest: string | null;
  /** `items` probes: the new items, oldest first, at most `limit`. Empty for `head` probes. */
  items: MessageRow[];
  /** `items` probes: more new items follow the ones returned. */
  more: boolean;
}

/** Sorted-key JSON, so equal filters built in any key order compare equal. */
function canonical(v: unknown): string {
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * A query's keys, computed once per query object: a watcher probes with the same FeedQuery
 * objects for its life (queries are never mutated once built), and a push flush keys every
 * probe twice (the hub's sharing, the shapes here), which cost ~37 µs per socket in the
 * realtime bench's profile when canonicalised afresh.
 */
const keysByQuery = new WeakMap<FeedQuery, { feed: string; filters: string }>();

function queryKeys(f: FeedQuery): { feed: string; filters: string } {
  let keys = keysByQuery.get(f);
  if (!keys) {
    const { recipient: _r, channelId: _c, ...filters } = f;
    keys = { feed: canonical(f), filters: canonical(filters) };
    keysByQuery.set(f, keys);
  }
  return keys;
}

/** The key of a feed: probes of the same feed share their counts. */
export const feedKey = (f: FeedQuery): string => queryKeys(f).feed;

/** The clauses of a criteria without the WHERE keyword, appended to `s`'s parameters. */
function clauses(s: Sql, c: MessageCriteria): string {
  const part = new Sql();
  part.params.push(...s.params);
  applyCriteria(part, c);
  s.params.splice(0, s.params.length, ...part.params);
  return part.where().replace(/^WHERE /, '') || 'true';
}

/**
 * Checks many feeds for news in one statement per distinct filter set and mode: the recipient,
 * channel and cursor vary per row of an `unnest`, the filters are shared. Returns one FeedNews
 * per probe, in order.
 */
export async function checkFeeds(q: Queryable, probes: FeedProbe[], limit: number): Promise<FeedNews[]> {
  const news: FeedNews[] = new Array(probes.length);
  const shapes = new Map<string, number[]>();
  probes.forEach((p, i) => {
    const k = `${p.mode}|${queryKeys(p.query).filters}`;
    const list = shapes.get(k);
    if (list) list.push(i); else shapes.set(k, [i]);
  });
  await Promise.all([...shapes.values()].map(async (indexes) => {
    const head = probes[indexes[0]].mode === 'head';
    const rows = await checkShape(q, indexes.map((i) => probes[i]), head ? 1 : limit + 1, head);
    const byProbe = new Map<number, ShapeRow[]>();
    for (const r of rows) {
      const list = byProbe.get(r.probe_i);
      if (list) list.push(r); else byProbe.set(r.probe_i, [r]);
    }
    indexes.forEach((probeIndex, j) => {
      const own = byProbe.get(j) ?? [];
      const found = own.filter((r) => r.id !== null);
      const kept = head ? found : found.slice(0, limit);
      const newest = head ? found[0] : kept[kept.length - 1];
      const c = own[0] ?? { total_count: 0, unread_count: 0, unseen_count: 0 };
      news[probeIndex] = {
        counts: { total_count: c.total_count, unread_count: c.unread_count, unseen_count: c.unseen_count },
        newest: newest ? messageCursor(newest as MessageRow) : null,
        items: head ? [] : kept.map(messageOf),
        more: !head && found.length > limit,
      };
    });
  }));
  return news;
}

/** A probe's row: its index and counts, and one new message (all null when there is none). */
type ShapeRow = FeedCounts & { probe_i: number } & Partial<MessageRow> & { id: string | null };

function messageOf(row: ShapeRow): MessageRow {
  const { probe_i: _i, total_count: _t, unread_count: _r, unseen_count: _u, ...m } = row;
  return m as MessageRow;
}

/**
 * One statement for probes that share their filters and mode. `head` asks only for the newest
 * new item's key (is there news?), otherwise the new items, oldest first, as full rows with
 * their channel (as messages.ts's SELECT_MESSAGE builds it).
 */
async function checkShape(q: Queryable, probes: FeedProbe[], limit: number, head: boolean): Promise<ShapeRow[]> {
  const f = probes[0].query;
  // The recipient and channel come from the unnest; the filters are the first probe's (shared).
  const { recipients: _r1, channelId: _c1, ...counted } = countCriteria(f);
  const { recipients: _r2, channelId: _c2, ...listed } = listCriteria(f);
  const s = new Sql();
  const countWhere = clauses(s, counted);
  const listWhere = clauses(s, listed);
  const cursors = probes.map((p) => readTimeIdCursor(p.after ?? undefined, 'before'));
  const t = `unnest(${s.p(probes.map((_, i) => i))}::int[], ${s.p(probes.map((p) => p.query.recipient.collection))}::text[],
    ${s.p(probes.map((p) => p.query.recipient.id))}::text[], ${s.p(probes.map((p) => p.query.channelId))}::uuid[],
    ${s.p(cursors.map((c) => c?.[0] ?? '-infinity'))}::timestamptz[], ${s.p(cursors.map((c) => c?.[1] ?? ''))}::text[])
    AS t(i, coll, rid, ch, at, id)`;
  const mine = 'm.recipient_collection = t.coll AND m.recipient_id = t.rid AND m.channel_id = t.ch';
  const order = head ? 'DESC' : 'ASC';
  const columns = head ? 'n.id, n.inserted_at' : `n.*,
    (SELECT json_build_object('id', c.id, 'key', c.key, 'type', c.type, 'provider', c.provider, 'name', c.name,
                              'created_at', c.created_at, 'updated_at', c.updated_at)
       FROM channels c WHERE c.id = n.channel_id) AS channel`;
  return q.query<ShapeRow>(
    `SELECT t.i AS probe_i, k.total_count, k.unread_count, k.unseen_count, ${columns}
       FROM ${t}
      CROSS JOIN LATERAL (
        SELECT count(*)::int AS total_count,
               (count(*) FILTER (WHERE m.read_at IS NULL))::int AS unread_count,
               (count(*) FILTER (WHERE m.seen_at IS NULL))::int AS unseen_count
          FROM messages m WHERE ${mine} AND ${countWhere}) k
       LEFT JOIN LATERAL (
        SELECT ${head ? 'm.id, m.inserted_at' : 'm.*'} FROM messages m
         WHERE ${mine} AND ${listWhere} AND (m.inserted_at, m.id) > (t.at, t.id)
         ORDER BY m.inserted_at ${order}, m.id ${order}
         LIMIT ${s.p(limit)}) n ON true
      ORDER BY t.i, n.inserted_at ${order}, n.id ${order}`,
    s.params,
  );
}
