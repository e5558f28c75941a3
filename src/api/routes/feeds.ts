import { Type, type Static } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import { USERS } from '../../domain/recipients.js';
import { findChannel } from '../../store/channels.js';
import { getEntities } from '../../store/entities.js';
import { countFeed, listFeedItems, type FeedQuery } from '../../store/feed.js';
import { parseTriggerData } from '../../store/messages.js';
import { CursorQuery, pageInfo } from '../schemas/common.js';
import { actorMap, feedActorKeys, serializeFeedItem } from '../serializers/messages.js';
import { activityEntityKeys, serializeBatchActivity, serializeSingleActivity } from '../serializers/activities.js';
import { activitiesForBatches, type BatchMemberRow } from '../../store/batches.js';
import type { MessageRow } from '../../store/messages.js';
import { feedTenantScope } from '../plugins/access.js';
import type { ApiDeps, App } from '../types.js';
import { InsertedAtQuery, parseInsertedAt } from './messages.js';

const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

const FeedParams = Type.Object({ user_id: Type.String({ minLength: 1 }), channel_id: Type.String({ minLength: 1 }) });

const FeedListQuery = Type.Composite([CursorQuery, Type.Object({
  status: Type.Optional(literals(['unread', 'read', 'unseen', 'seen', 'all'])),
  archived: Type.Optional(literals(['exclude', 'include', 'only'])),
  source: Type.Optional(Type.String()),
  tenant: Type.Optional(Type.String()),
  has_tenant: Type.Optional(Type.Boolean()),
  workflow_categories: Type.Optional(Type.Array(Type.String())),
  trigger_data: Type.Optional(Type.String()),
  inserted_at: Type.Optional(InsertedAtQuery),
  mode: Type.Optional(literals(['compact', 'rich'])),
  // Accepted for compatibility; Herald renders each message once, in its recipient's locale.
  locale: Type.Optional(Type.String()),
  exclude: Type.Optional(Type.String()),
})]);
type FeedListQuery = Static<typeof FeedListQuery>;

/**
 * `exclude=entries.archived_at,meta.unseen_count`: drops dotted paths (at most 3 levels) from
 * the response; a path through an array applies to each element.
 */
export function excludeFields(body: Record<string, unknown>, exclude: string | undefined): void {
  if (!exclude) return;
  const drop = (node: unknown, path: string[]): void => {
    if (Array.isArray(node)) { for (const el of node) drop(el, path); return; }
    if (typeof node !== 'object' || node === null) return;
    const obj = node as Record<string, unknown>;
    if (path.length === 1) delete obj[path[0]];
    else drop(obj[path[0]], path.slice(1));
  };
  for (const raw of exclude.split(',')) {
    const path = raw.trim().split('.').filter(Boolean);
    if (path.length > 0 && path.length <= 3) drop(body, path);
  }
}

export function registerFeedRoutes(app: App, deps: ApiDeps): void {
  const tags = ['feeds'];

  app.get('/v1/users/:user_id/feeds/:channel_id', {
    config: { auth: 'public' },
    schema: { tags, summary: "A user's in-app feed, newest first, with badge counts", params: FeedParams, querystring: FeedListQuery },
  }, async (request) => {
    const { user_id: userId, channel_id: channelIdOrKey } = request.params;
    const q: FeedListQuery = request.query;
    const channel = await findChannel(deps.db, channelIdOrKey);
    if (!channel) throw errors.channelInvalid(channelIdOrKey);
    const feed: FeedQuery = {
      recipient: { collection: USERS, id: userId },
      channelId: channel.id,
      status: q.status,
      archived: q.archived,
      source: q.source,
      tenant: q.tenant,
      hasTenant: q.has_tenant,
      categories: q.workflow_categories?.length ? q.workflow_categories : undefined,
      triggerData: parseTriggerData(q.trigger_data),
      insertedAt: parseInsertedAt(q.inserted_at),
      tenantScope: feedTenantScope(request, q.tenant),
    };
    const pageSize = q.page_size ?? 50;
    const mode = q.mode ?? 'rich';
    // A user nobody identified yet has no messages, so gets an empty feed rather than a 404.
    const [page, counts] = await Promise.all([
      listFeedItems(deps.db, feed, { after: q.after, before: q.before, pageSize }),
      countFeed(deps.db, feed),
    ]);
    // Rich mode shows each item's activities: a batch's first ten, or the message's own trigger.
    const batches = mode === 'rich'
      ? await activitiesForBatches(deps.db, [...new Set(page.messages.flatMap((m) => (m.batch_id ? [m.batch_id] : [])))], 10)
      : new Map<string, BatchMemberRow[]>();
    const keys = mode === 'rich' ? [...feedActorKeys(page.messages, mode), ...activityEntityKeys(page.messages, batches)] : feedActorKeys(page.messages, mode);
    const actors = actorMap(await getEntities(deps.db, keys));
    const activitiesOf = (m: MessageRow) => (mode !== 'rich' ? [] : m.batch_id
      ? (batches.get(m.batch_id) ?? []).map((a) => serializeBatchActivity(a, m, actors))
      : [serializeSingleActivity(m, actors)]);
    const body = {
      entries: page.messages.map((m) => serializeFeedItem(m, actors, mode, activitiesOf(m))),
      meta: { __typename: 'FeedMetadata', ...counts },
      page_info: pageInfo(pageSize, page.after, page.before),
      vars: {},
    };
    excludeFields(body, q.exclude);
    return body;
  });

  app.get('/v1/users/:user_id/feeds/:channel_id/settings', {
    config: { auth: 'public' },
    schema: { tags, summary: "A feed's settings", params: FeedParams },
  }, async (request) => {
    const channel = await findChannel(deps.db, request.params.channel_id);
    if (!channel) throw errors.channelInvalid(request.params.channel_id);
    return { features: { branding_required: false } };
  });
}
