/**
 * Watches one user's feed through one or more filter sets ("references": Knock's browser client
 * joins with one per feed instance) and says which references gained messages and their new
 * badge counts. Transport-independent: the Phoenix socket and the SSE stream both use it.
 *
 * Each distinct filter set keeps a watermark: the cursor of the newest matching item it has
 * reported. The hub (feed-hub.ts) checks every watched feed in batches, asking for items newer
 * than each watermark with that reference's own filters (tenant, source, categories, data,
 * status, archived...), so a reference is told only about messages it would show. This class
 * holds the watermarks and turns the hub's answers into changes; it runs no query per
 * notification itself.
 */
import type { Queryable } from '../store/db.js';
import { feedKey, listFeedItems, type FeedCounts, type FeedNews, type FeedProbe, type FeedQuery } from '../store/feed.js';
import { messageCursor, type MessageRow } from '../store/messages.js';
import type { FeedHub, Watcher } from './feed-hub.js';

export interface FeedChange {
  refs: string[];
  /** The new items, newest first (only when the watch was made `withItems`). */
  items: MessageRow[];
  counts: FeedCounts;
  /**
   * The hub's answer this change was made from: the same object for every watcher of the same
   * feed at the same cursor, so a transport can encode one payload for all of them.
   */
  source: FeedNews;
}

export interface FeedWatchOptions {
  hub: FeedHub;
  channelId: string;
  userId: string;
  /** Report the new items themselves (SSE), not just that there are some (Phoenix). */
  withItems: boolean;
  /** Start after this cursor instead of the feed's current head (SSE `Last-Event-ID`). */
  since?: string;
  /** Called synchronously from the hub's flush: queue slow work, never block on a consumer. */
  onChange: (changes: FeedChange[]) => void;
  onError: (err: unknown) => void;
}

interface Group {
  query: FeedQuery;
  refs: string[];
  watermark: string | null;
}

export class FeedWatch implements Watcher {
  private readonly groups: Group[] = [];
  private closed = false;
  private started = false;
  /** The hub asked while the watermarks were being read: check once they are. */
  private missed = false;
  private unwatch: (() => void) | undefined;

  constructor(private readonly db: Queryable, refs: Map<string, FeedQuery>, private readonly opts: FeedWatchOptions) {
    const byFilter = new Map<string, Group>();
    for (const [ref, query] of refs) {
      const k = JSON.stringify(query);
      const g = byFilter.get(k);
      if (g) g.refs.push(ref);
      else byFilter.set(k, { query, refs: [ref], watermark: null });
    }
    this.groups = [...byFilter.values()];
    // Key each query now, at join, rather than in the first push's flush (store/feed.ts caches
    // the keys per query object).
    for (const g of this.groups) feedKey(g.query);
  }

  /**
   * Subscribes to the hub, then sets each watermark to the feed's current head (or `since`).
   * Watch first, then read the head: a message committed in between is then still reported.
   */
  async open(): Promise<void> {
    const { hub, channelId, userId, since } = this.opts;
    this.unwatch = await hub.watch(channelId, userId, this);
    if (this.closed) { this.unwatch(); return; } // the connection ended meanwhile
    try {
      for (const g of this.groups) {
        if (since !== undefined) { g.watermark = since; continue; }
        const head = await listFeedItems(this.db, g.query, { pageSize: 1 });
        g.watermark = head.messages[0] ? messageCursor(head.messages[0]) : null;
      }
    } catch (err) {
      this.close();
      throw err;
    }
    this.started = true;
    // A replay (`since`) reports what came after it now, not at the next notification.
    if (this.missed || since !== undefined) hub.poke(this);
  }

  close(): void {
    this.closed = true;
    this.unwatch?.();
  }

  probes(): FeedProbe[] | null {
    if (this.closed) return null;
    if (!this.started) { this.missed = true; return null; }
    const mode = this.opts.withItems ? 'items' : 'head';
    return this.groups.map((g) => ({ query: g.query, after: g.watermark, mode }));
  }

  settle(news: FeedNews[]): void {
    if (this.closed) return;
    const changes: FeedChange[] = [];
    let more = false;
    this.groups.forEach((g, i) => {
      const n = news[i];
      if (n.newest === null || n.newest === g.watermark) return;
      g.watermark = n.newest;
      more ||= n.more;
      changes.push({ refs: g.refs, items: this.opts.withItems ? [...n.items].reverse() : [], counts: n.counts, source: n });
    });
    // A burst larger than one flush reports continues in the next one.
    if (more) this.opts.hub.poke(this);
    if (changes.length > 0) this.opts.onChange(changes);
  }
}
