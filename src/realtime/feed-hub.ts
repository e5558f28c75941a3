/**
 * Routes "user X has new messages on channel C" from the database to whoever watches that feed
 * in THIS process (Phoenix sockets, SSE streams), and checks those feeds for them. Every API
 * process runs one hub, each LISTENing on the same channel, so a message committed by a worker
 * anywhere reaches every socket. The hub holds only the watchers of this process's open
 * connections and their cursors; the feed itself stays in the database.
 *
 * Checks are batched, not per socket: notifications mark their topic (channel, user) dirty, and
 * one flush checks every dirty topic's feeds together — one statement per distinct filter set
 * (store/feed.ts `checkFeeds`), however many topics and sockets — then hands each watcher its
 * share of the answer. Watchers of the same feed at the same cursor share one probe and one
 * answer object, so their transports can encode a push once. The batching window is the
 * flush itself: notifications that arrive while a flush runs wait for the next one, so under
 * load batches grow instead of queries multiplying. Delivery is synchronous and never awaited:
 * a slow socket cannot hold up the flush or the other sockets (the transports bound their own
 * buffers).
 *
 * It starts listening with the first watcher. A lost notification (the LISTEN connection
 * dropped) delays a push until the next one; a client that then refetches with `before=`
 * still gets everything, since the feed itself is the source of truth.
 */
import type { Db } from '../store/db.js';
import { checkFeeds, feedKey, type FeedNews, type FeedProbe } from '../store/feed.js';
import { NEW_MESSAGES_CHANNEL, parseNewMessagesNotice } from '../store/message-notify.js';

/** What the hub needs of a watcher (feed-watch.ts). */
export interface Watcher {
  /** The feeds to check now, or null while the watcher is not ready (it asks again when it is). */
  probes(): FeedProbe[] | null;
  /** The answers, one per probe, in order. Must not throw for a slow consumer, nor await one. */
  settle(news: FeedNews[]): void;
}

/** New items one `items` probe reports per flush at most; the rest follow in the next flush. */
const MAX_ITEMS = 1000;

export class FeedHub {
  private readonly topics = new Map<string, Set<Watcher>>();
  /** Topics with notifications since the last flush started. */
  private readonly dirtyTopics = new Set<string>();
  /** Watchers that asked for a check themselves (ready after a missed notification, replay). */
  private readonly dirtyWatchers = new Set<Watcher>();
  private flushing = false;
  private listening: Promise<() => Promise<void>> | undefined;
  private closed = false;

  constructor(private readonly db: Db, private readonly onError: (err: unknown) => void) {}

  /** Calls `watcher` with news whenever its feed may have some; returns the unsubscribe. */
  async watch(channelId: string, userId: string, watcher: Watcher): Promise<() => void> {
    const key = topicKey(channelId, userId);
    let set = this.topics.get(key);
    if (!set) { set = new Set(); this.topics.set(key, set); }
    set.add(watcher);
    this.listening ??= this.db.listen(NEW_MESSAGES_CHANNEL, (payload) => this.dispatch(payload));
    await this.listening;
    return () => {
      set.delete(watcher);
      this.dirtyWatchers.delete(watcher);
      if (set.size === 0 && this.topics.get(key) === set) this.topics.delete(key);
    };
  }

  /** Checks this watcher's feeds in the next flush. */
  poke(watcher: Watcher): void {
    this.dirtyWatchers.add(watcher);
    this.schedule();
  }

  /** How many feeds (channel, user) this process watches (for tests and metrics). */
  get size(): number {
    return this.topics.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.topics.clear();
    this.dirtyTopics.clear();
    this.dirtyWatchers.clear();
    const unlisten = await this.listening?.catch(() => undefined);
    this.listening = undefined;
    await unlisten?.().catch(this.onError);
  }

  private dispatch(payload: string): void {
    const notice = parseNewMessagesNotice(payload);
    if (!notice) return;
    const key = topicKey(notice.channelId, notice.userId);
    if (!this.topics.has(key)) return;
    this.dirtyTopics.add(key);
    this.schedule();
  }

  /**
   * Flushes on the next turn of the event loop, so the notifications of one commit (they arrive
   * together) make one batch; a flush already running picks the new ones up when it ends.
   */
  private schedule(): void {
    if (this.flushing || this.closed) return;
    this.flushing = true;
    setImmediate(() => { void this.drain(); });
  }

  private async drain(): Promise<void> {
    try {
      while (!this.closed && (this.dirtyTopics.size > 0 || this.dirtyWatchers.size > 0)) await this.flush();
    } finally {
      this.flushing = false;
    }
  }

  private async flush(): Promise<void> {
    const watchers = new Set(this.dirtyWatchers);
    for (const key of this.dirtyTopics) for (const w of this.topics.get(key) ?? []) watchers.add(w);
    this.dirtyTopics.clear();
    this.dirtyWatchers.clear();

    // Watchers of the same feed at the same cursor share one probe (and one answer).
    const probes: FeedProbe[] = [];
    const byKey = new Map<string, number>();
    const plan: { watcher: Watcher; slots: number[] }[] = [];
    for (const watcher of watchers) {
      const own = watcher.probes();
      if (!own) continue;
      plan.push({
        watcher,
        slots: own.map((p) => {
          const k = `${p.mode}|${p.after ?? ''}|${feedKey(p.query)}`;
          let slot = byKey.get(k);
          if (slot === undefined) { slot = probes.push(p) - 1; byKey.set(k, slot); }
          return slot;
        }),
      });
    }
    if (probes.length === 0) return;

    let news: FeedNews[];
    try {
      news = await checkFeeds(this.db, probes, MAX_ITEMS);
    } catch (err) {
      this.onError(err);
      return;
    }
    if (this.closed) return;
    for (const { watcher, slots } of plan) {
      try { watcher.settle(slots.map((s) => news[s])); } catch (err) { this.onError(err); }
    }
  }
}

const topicKey = (channelId: string, userId: string) => `${channelId}:${userId}`;
