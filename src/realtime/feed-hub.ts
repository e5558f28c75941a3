/**
 * Routes "user X has new messages on channel C" from the database to whoever watches that feed
 * in THIS process (Phoenix sockets, SSE streams). Every API process runs one hub, each LISTENing
 * on the same channel, so a message committed by a worker anywhere reaches every socket. The
 * hub holds only the watchers of this process's open connections; it keeps no feed state.
 *
 * It starts listening with the first watcher. A lost notification (the LISTEN connection
 * dropped) delays a push until the next one; a client that then refetches with `before=`
 * still gets everything, since the feed itself is the source of truth.
 */
import type { Db } from '../store/db.js';
import { NEW_MESSAGES_CHANNEL, parseNewMessagesNotice } from '../store/message-notify.js';

export type Poke = () => void;

export class FeedHub {
  private readonly watchers = new Map<string, Set<Poke>>();
  private listening: Promise<() => Promise<void>> | undefined;

  constructor(private readonly db: Db, private readonly onError: (err: unknown) => void) {}

  /** Calls `poke` whenever the feed may have new messages; returns the unsubscribe. */
  async watch(channelId: string, userId: string, poke: Poke): Promise<() => void> {
    const key = `${channelId}:${userId}`;
    let set = this.watchers.get(key);
    if (!set) { set = new Set(); this.watchers.set(key, set); }
    set.add(poke);
    this.listening ??= this.db.listen(NEW_MESSAGES_CHANNEL, (payload) => this.dispatch(payload));
    await this.listening;
    return () => {
      set.delete(poke);
      if (set.size === 0 && this.watchers.get(key) === set) this.watchers.delete(key);
    };
  }

  /** How many feeds this process watches (for tests and metrics). */
  get size(): number {
    return this.watchers.size;
  }

  private dispatch(payload: string): void {
    const notice = parseNewMessagesNotice(payload);
    if (!notice) return;
    for (const poke of this.watchers.get(`${notice.channelId}:${notice.userId}`) ?? []) {
      try { poke(); } catch (err) { this.onError(err); }
    }
  }

  async close(): Promise<void> {
    this.watchers.clear();
    const unlisten = await this.listening?.catch(() => undefined);
    this.listening = undefined;
    await unlisten?.().catch(this.onError);
  }
}
