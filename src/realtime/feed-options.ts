/**
 * A browser feed instance's options (what `@knocklabs/client` sends per reference in its
 * `phx_join` payload, and what an SSE stream gets as its query) as the feed filters of
 * store/feed.ts. Unknown options (mode, page_size, __experimental…) do not filter and are
 * ignored; a malformed one is an error the caller reports.
 */
import { parseTimestamp } from '../domain/timestamps.js';
import type { FeedArchived, FeedQuery, FeedStatus } from '../store/feed.js';
import type { InsertedAtRange } from '../store/messages.js';

export type FeedFilters = Omit<FeedQuery, 'recipient' | 'channelId' | 'tenantScope'>;

const STATUSES: FeedStatus[] = ['unread', 'read', 'unseen', 'seen', 'all'];
const ARCHIVED: FeedArchived[] = ['exclude', 'include', 'only'];

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function triggerData(v: unknown): Record<string, unknown> | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  let parsed = v;
  if (typeof v === 'string') {
    try { parsed = JSON.parse(v); } catch { throw new Error('trigger_data must be a JSON object of scalar values'); }
  }
  const flat = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    && Object.values(parsed).every((x) => x === null || typeof x !== 'object');
  if (!flat) throw new Error('trigger_data must be a JSON object of scalar values');
  return Object.keys(parsed as object).length ? parsed as Record<string, unknown> : undefined;
}

function insertedAt(o: Record<string, unknown>): InsertedAtRange | undefined {
  const nested = (typeof o.inserted_at === 'object' && o.inserted_at !== null ? o.inserted_at : {}) as Record<string, unknown>;
  const out: InsertedAtRange = {};
  for (const op of ['gt', 'gte', 'lt', 'lte'] as const) {
    const raw = str(o[`inserted_at.${op}`]) ?? str(nested[op]);
    if (raw === undefined) continue;
    const at = parseTimestamp(raw);
    if (!at) throw new Error(`inserted_at.${op} must be an ISO-8601 timestamp`);
    out[op] = at;
  }
  return Object.keys(out).length ? out : undefined;
}

/** Throws an Error whose message says which option is malformed. */
export function feedFilters(options: unknown): FeedFilters {
  const o = (typeof options === 'object' && options !== null ? options : {}) as Record<string, unknown>;
  const status = str(o.status);
  if (status !== undefined && !STATUSES.includes(status as FeedStatus)) throw new Error(`status must be one of ${STATUSES.join(', ')}`);
  const archived = str(o.archived);
  if (archived !== undefined && !ARCHIVED.includes(archived as FeedArchived)) throw new Error(`archived must be one of ${ARCHIVED.join(', ')}`);
  const hasTenant = o.has_tenant === true || o.has_tenant === 'true' ? true : o.has_tenant === false || o.has_tenant === 'false' ? false : undefined;
  const categories = ([] as unknown[]).concat(o.workflow_categories ?? []).filter((c): c is string => typeof c === 'string' && c !== '');
  const filters: FeedFilters = {
    status: status as FeedStatus | undefined,
    archived: archived as FeedArchived | undefined,
    source: str(o.source),
    tenant: str(o.tenant),
    hasTenant,
    categories: categories.length ? categories : undefined,
    triggerData: triggerData(o.trigger_data),
    insertedAt: insertedAt(o),
  };
  // Drop absent keys so equal filters serialise equally (references share work by filter).
  for (const k of Object.keys(filters) as (keyof FeedFilters)[]) if (filters[k] === undefined) delete filters[k];
  return filters;
}
