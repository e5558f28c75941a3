/**
 * Watches one user's feed through one or more filter sets ("references": Knock's browser client
 * joins with one per feed instance) and says, when poked, which references gained messages and
 * their new badge counts. Transport-independent: the Phoenix socket and the SSE stream both use
 * it.
 *
 * Each distinct filter set keeps a watermark: the cursor of the newest matching item it has
 * reported. A poke asks the feed for items newer than the watermark with that reference's own
 * filters (tenant, source, categories, data, status, archived...), so a reference is told only
 * about messages it would show. Pokes are coalesced: while one check runs, further pokes make
 * exactly one more.
 */
import type { Queryable } from '../store/db.js';
import { countFeed, listFeedItems, type FeedCounts, type FeedQuery } from '../store/feed.js';
import { messageCursor, type MessageRow } from '../store/messages.js';

export interface FeedChange {
  refs: string[];
  /** The new items, newest first (only when the watch was made `withItems`). */
  items: MessageRow[];
  counts: FeedCounts;
}

export interface FeedWatchOptions {
  /** Report the new items themselves (SSE), not just that there are some (Phoenix). */
  withItems: boolean;
  /** Start after this cursor instead of the feed's current head (SSE `Last-Event-ID`). */
  since?: string;
  onChange: (changes: FeedChange[]) => void | Promise<void>;
  onError: (err: unknown) => void;
}

interface Group {
  query: FeedQuery;
  refs: string[];
  watermark: string | null;
}

const PAGE = 100;
/** Items reported per poke at most; a burst larger than this is cut to its newest part. */
const MAX_ITEMS = 1000;

export class FeedWatch {
  private readonly groups: Group[] = [];
  private running = false;
  private again = false;
  private closed = false;
  private started = false;

  constructor(private readonly db: Queryable, refs: Map<string, FeedQuery>, private readonly opts: FeedWatchOptions) {
    const byFilter = new Map<string, Group>();
    for (const [ref, query] of refs) {
      const k = JSON.stringify(query);
      const g = byFilter.get(k);
      if (g) g.refs.push(ref);
      else byFilter.set(k, { query, refs: [ref], watermark: null });
    }
    this.groups = [...byFilter.values()];
  }

  /** Sets each watermark to the feed's current head (or `since`). */
  async start(): Promise<void> {
    for (const g of this.groups) {
      if (this.opts.since !== undefined) { g.watermark = this.opts.since; continue; }
      const head = await listFeedItems(this.db, g.query, { pageSize: 1 });
      g.watermark = head.messages[0] ? messageCursor(head.messages[0]) : null;
    }
    this.started = true;
    // A poke that came while the watermarks were being read may be about a message they missed.
    if (this.again) { this.again = false; this.poke(); }
  }

  /** The feed may have changed; checks (again, once the current check is done). */
  poke(): void {
    if (this.closed) return;
    if (this.running || !this.started) { this.again = true; return; }
    this.running = true;
    void this.run();
  }

  close(): void {
    this.closed = true;
  }

  private async run(): Promise<void> {
    do {
      this.again = false;
      try {
        const changes: FeedChange[] = [];
        for (const g of this.groups) {
          const items = this.opts.withItems ? await this.newItems(g) : await this.newHead(g);
          if (items === null) continue;
          changes.push({ refs: g.refs, items, counts: await countFeed(this.db, g.query) });
        }
        if (changes.length > 0 && !this.closed) await this.opts.onChange(changes);
      } catch (err) {
        this.opts.onError(err);
      }
    } while (this.again && !this.closed);
    this.running = false;
  }

  /** Phoenix: is anything newer than the watermark? Then move the watermark to the head. */
  private async newHead(g: Group): Promise<MessageRow[] | null> {
    if (g.watermark !== null) {
      const newer = await listFeedItems(this.db, g.query, { before: g.watermark, pageSize: 1 });
      if (newer.messages.length === 0) return null;
    }
    const head = await listFeedItems(this.db, g.query, { pageSize: 1 });
    if (head.messages.length === 0) return null;
    const cursor = messageCursor(head.messages[0]);
    if (cursor === g.watermark) return null;
    g.watermark = cursor;
    return [];
  }

  /** SSE: every item newer than the watermark, oldest pages first, reported newest first. */
  private async newItems(g: Group): Promise<MessageRow[] | null> {
    const out: MessageRow[] = [];
    if (g.watermark === null) {
      const head = await listFeedItems(this.db, g.query, { pageSize: PAGE });
      out.push(...head.messages);
    } else {
      for (;;) {
        const page = await listFeedItems(this.db, g.query, { before: g.watermark, pageSize: PAGE });
        if (page.messages.length === 0) break;
        out.unshift(...page.messages);
        g.watermark = messageCursor(page.messages[0]);
        if (page.messages.length < PAGE || out.length >= MAX_ITEMS) break;
      }
    }
    if (out.length === 0) return null;
    g.watermark = messageCursor(out[0]);
    return out;
  }
}
