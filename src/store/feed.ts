/**
 * One recipient's feed on one channel: a page of items and the badge counts (total, unread,
 * unseen), both over the same scope.
 */
import type { EntityKey } from '../domain/recipients.js';
import type { TenantScope } from '../domain/user-grants.js';
import type { Queryable } from './db.js';
import { Sql, applyCriteria, listMessages, type EngagementFilter, type InsertedAtRange, type MessageCriteria, type MessagePage, type PageOptions } from './messages.js';

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

/** One page of a feed, newest first. */
export async function listFeedItems(q: Queryable, f: FeedQuery, page: PageOptions): Promise<MessagePage> {
  const engagementAll: EngagementFilter[] = [];
  if (f.status && f.status !== 'all') engagementAll.push(f.status);
  const archived = f.archived ?? 'exclude';
  if (archived === 'exclude') engagementAll.push('unarchived');
  if (archived === 'only') engagementAll.push('archived');
  return listMessages(q, { ...feedScope(f), engagementAll, insertedAt: f.insertedAt }, page);
}

/**
 * The badge counts over the feed's scope: non-archived items, whatever page, status or date
 * range was asked for (the browser client adjusts these optimistically on the same basis).
 */
export async function countFeed(q: Queryable, f: FeedQuery): Promise<FeedCounts> {
  const s = new Sql();
  applyCriteria(s, { ...feedScope(f), engagementAll: ['unarchived'] });
  const rows = await q.query<FeedCounts>(
    `SELECT count(*)::int AS total_count,
            (count(*) FILTER (WHERE m.read_at IS NULL))::int AS unread_count,
            (count(*) FILTER (WHERE m.seen_at IS NULL))::int AS unseen_count
     FROM messages m ${s.where()}`,
    s.params,
  );
  return rows[0];
}
