/**
 * Server-Sent Events for a feed (a Herald extension): a simpler realtime channel than Phoenix
 * for clients that only want "tell me when something arrives".
 *
 *   GET /v1/users/{user_id}/feeds/{channel_id}/stream  (same key, token, grants and filters as the feed)
 *
 * Events: `ready` once, with the badge counts; then one `new-message` per new feed item, oldest
 * first, `data: {event, item, metadata}` with `id:` = the item's `__cursor`. A client that
 * reconnects sends `Last-Event-ID` (EventSource does so itself) or `?since=<cursor>` and first
 * receives every item it missed. EventSource cannot set headers, so the key and token may also
 * come as `api_key` / `user_token` query parameters (the public key only: never the secret key).
 * A stream opened with a user token ends when the token expires; EventSource then reconnects,
 * and must bring a fresh token.
 */
import { Type } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import { USERS } from '../../domain/recipients.js';
import { tokenDeadline } from '../../domain/user-grants.js';
import { onDeadline } from '../../realtime/token-expiry.js';
import type { FeedHub } from '../../realtime/feed-hub.js';
import { feedFilters, type FeedFilters } from '../../realtime/feed-options.js';
import { FeedWatch, type FeedChange } from '../../realtime/feed-watch.js';
import { findChannel } from '../../store/channels.js';
import { getEntities } from '../../store/entities.js';
import { countFeed, listFeedItems, type FeedCounts, type FeedQuery } from '../../store/feed.js';
import { messageCursor } from '../../store/messages.js';
import { feedTenantScope } from '../plugins/access.js';
import { actorMap, feedActorKeys, serializeFeedItem } from '../serializers/messages.js';
import type { ApiDeps, App } from '../types.js';
import { answerEventStreamHead, openEventStream } from '../event-stream.js';

/** Proxies drop connections that stay silent; a comment line every 25 s keeps them open. */
const KEEPALIVE_MS = 25_000;
/** Bytes a stream may have waiting for its client before it is cut off as too slow. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** Changes a stream may have waiting to be encoded and written, likewise. */
const MAX_QUEUED_CHANGES = 100;

const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

const StreamParams = Type.Object({ user_id: Type.String({ minLength: 1 }), channel_id: Type.String({ minLength: 1 }) });
const StreamQuery = Type.Object({
  status: Type.Optional(literals(['unread', 'read', 'unseen', 'seen', 'all'])),
  archived: Type.Optional(literals(['exclude', 'include', 'only'])),
  source: Type.Optional(Type.String()),
  tenant: Type.Optional(Type.String()),
  has_tenant: Type.Optional(Type.Boolean()),
  workflow_categories: Type.Optional(Type.Array(Type.String())),
  trigger_data: Type.Optional(Type.String()),
  inserted_at: Type.Optional(Type.Object({
    gt: Type.Optional(Type.String()), gte: Type.Optional(Type.String()), lt: Type.Optional(Type.String()), lte: Type.Optional(Type.String()),
  })),
  mode: Type.Optional(literals(['compact', 'rich'])),
  since: Type.Optional(Type.String({ description: 'Replay items newer than this __cursor (as Last-Event-ID does)' })),
  api_key: Type.Optional(Type.String({ description: 'The key, for clients that cannot send Authorization (EventSource)' })),
  user_token: Type.Optional(Type.String({ description: 'The user token, for clients that cannot send X-Knock-User-Token' })),
});

const sse = (event: string, data: unknown, id?: string) => `${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const metadata = (counts: FeedCounts) => ({ __typename: 'FeedMetadata', ...counts });

export function registerFeedStream(app: App, deps: ApiDeps, hub: FeedHub): void {
  // Streams never end by themselves; a server shutting down ends them (EventSource reconnects).
  const open = new Set<() => void>();
  app.addHook('preClose', async () => { for (const end of open) end(); });

  app.get('/v1/users/:user_id/feeds/:channel_id/stream', {
    config: { auth: 'public', queryAuth: true },
    schema: {
      tags: ['feeds'],
      summary: 'Server-Sent Events: one event per new feed item, with the badge counts (Herald extension)',
      params: StreamParams,
      querystring: StreamQuery,
      produces: ['text/event-stream'],
    },
  }, async (request, reply) => {
    const { user_id: userId, channel_id: channelIdOrKey } = request.params;
    const q = request.query;
    const channel = await findChannel(deps.db, channelIdOrKey);
    if (!channel) throw errors.channelInvalid(channelIdOrKey);
    let filters: FeedFilters;
    try {
      filters = feedFilters(q);
    } catch (e) {
      throw errors.invalidParams((e as Error).message);
    }
    const feed: FeedQuery = {
      recipient: { collection: USERS, id: userId },
      channelId: channel.id,
      ...filters,
      tenantScope: feedTenantScope(request, filters.tenant),
    };
    const lastEventId = request.headers['last-event-id'];
    const since = (typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : undefined) ?? q.since;
    // A malformed cursor is a 422 now, before the stream starts.
    if (since !== undefined) await listFeedItems(deps.db, feed, { before: since, pageSize: 1 });
    const counts = await countFeed(deps.db, feed);
    const mode = q.mode ?? 'rich';

    // HEAD (checked as GET was, up to here): the headers, and no stream that would never end.
    if (request.method === 'HEAD') return answerEventStreamHead(reply);

    const res = openEventStream(reply, 'no-cache, no-transform', { 'x-request-id': request.id });
    res.write(`retry: 2000\n${sse('ready', { metadata: metadata(counts) })}`);

    // A stream that cannot keep up is ended (EventSource reconnects and replays from its
    // Last-Event-ID), so its backlog never grows without bound.
    const overflowing = () => res.writableLength > MAX_BUFFERED_BYTES || queued > MAX_QUEUED_CHANGES;
    let queued = 0;
    let chain: Promise<void> = Promise.resolve();
    const deliver = async (change: FeedChange) => {
      const text = await encodeChange(deps, change, mode);
      if (res.writableEnded || res.destroyed) return; // ended (expired, shutting down) meanwhile
      res.write(text);
      if (overflowing()) res.destroy();
    };
    const watch = new FeedWatch(deps.db, new Map([['stream', feed]]), {
      hub,
      channelId: channel.id,
      userId,
      withItems: true,
      since,
      // Called from the hub's flush: queue the writes in order and return at once.
      onChange: (changes) => {
        for (const change of changes) {
          queued++;
          chain = chain.then(() => deliver(change)).catch((err) => request.log.warn({ err }, 'feed stream')).finally(() => { queued--; });
        }
        if (overflowing()) res.destroy();
      },
      onError: (err) => request.log.warn({ err }, 'feed stream'),
    });
    const keepalive = setInterval(() => { if (!res.writableEnded) res.write(': keepalive\n\n'); }, KEEPALIVE_MS).unref();
    const end = () => res.end();
    open.add(end);
    deps.metrics?.connectionOpened('sse');
    const grants = request.auth?.kind === 'public' ? request.auth.grants : undefined;
    // At the token's expiry, not when the client next speaks (an SSE client never does).
    const cancelExpiry = onDeadline(deps.clock, grants && tokenDeadline(grants), () => {
      watch.close();
      res.end(sse('expired', { reason: 'user token expired' }));
    });
    // The response's close (not the request's, which ends with its empty body) is the disconnect.
    res.on('close', () => {
      open.delete(end);
      deps.metrics?.connectionClosed('sse');
      cancelExpiry();
      clearInterval(keepalive);
      watch.close();
    });
    await watch.open();
  });
}

/**
 * The events of one change, oldest first (so the last id the client saw is the newest it has),
 * encoded once for every stream that got the same answer from the hub in the same mode.
 */
const encoded = new WeakMap<object, Map<string, Promise<string>>>();

function encodeChange(deps: ApiDeps, change: FeedChange, mode: 'compact' | 'rich'): Promise<string> {
  let byMode = encoded.get(change.source);
  if (!byMode) { byMode = new Map(); encoded.set(change.source, byMode); }
  let text = byMode.get(mode);
  if (!text) {
    text = (async () => {
      const actors = actorMap(await getEntities(deps.db, feedActorKeys(change.items, mode)));
      const meta = metadata(change.counts);
      return [...change.items].reverse()
        .map((m) => sse('new-message', { event: 'new-message', item: serializeFeedItem(m, actors, mode), metadata: meta }, messageCursor(m)))
        .join('');
    })();
    byMode.set(mode, text);
  }
  return text;
}
