/**
 * One realtime connection speaking the Phoenix Channels v2 JSON protocol, as phoenix.js 1.8
 * (inside `@knocklabs/client`) expects it (knock-api.md §4.3). Frames are
 * `[join_ref, ref, topic, event, payload]`:
 *
 * - `phoenix` / `heartbeat` → `phx_reply` `{status: "ok", response: {}}`;
 * - `phx_join` on `feeds:<channel id or key>:<user id>` with `{<client ref>: <feed options>}` →
 *   `phx_reply` ok or `{status: "error", response: {reason}}`; joining a topic again replaces
 *   the earlier join (which gets `phx_close`), as a Phoenix server does;
 * - `phx_leave` → `phx_reply` ok;
 * - server push `[join_ref, null, topic, "new-message", {event, metadata, data, attn}]` where
 *   `attn` lists the references whose filters match the new messages and `data[ref].metadata`
 *   holds that reference's badge counts.
 *
 * Transport-independent: the caller feeds it text frames and gives it `send` and `close`.
 */
import type { Clock } from '../domain/clock.js';
import { USERS } from '../domain/recipients.js';
import { decideTenant, tokenDeadline, type UserGrants } from '../domain/user-grants.js';
import { findChannel } from '../store/channels.js';
import type { Db } from '../store/db.js';
import type { FeedQuery } from '../store/feed.js';
import type { FeedHub } from './feed-hub.js';
import { feedFilters } from './feed-options.js';
import { FeedWatch, type FeedChange } from './feed-watch.js';

type Frame = [string | null, string | null, string, string, unknown];

export interface PhoenixSessionDeps {
  db: Db;
  clock: Clock;
  hub: FeedHub;
  /** The verified user token, when enhanced security is on. */
  grants?: UserGrants;
  send: (text: string) => void;
  close: (reason: string) => void;
  onError: (err: unknown) => void;
}

interface Joined {
  joinRef: string | null;
  watch: FeedWatch;
}

/** A socket may join this many topics; Knock's client joins one per feed channel. */
const MAX_TOPICS = 50;
const TOPIC = /^feeds:([^:]+):(.+)$/;

class JoinError extends Error {}

export class PhoenixSession {
  private readonly joined = new Map<string, Joined>();
  /** The latest join per topic; an older join still in flight gives way to it. */
  private readonly joining = new Map<string, string | null>();
  private closed = false;

  constructor(private readonly deps: PhoenixSessionDeps) {}

  /** Handles one text frame from the client. */
  async receive(text: string): Promise<void> {
    if (this.closed) return;
    if (this.tokenExpired()) { this.deps.close('user token expired'); return; }
    let frame: Frame;
    try {
      const parsed: unknown = JSON.parse(text);
      if (!Array.isArray(parsed) || parsed.length !== 5 || typeof parsed[2] !== 'string' || typeof parsed[3] !== 'string') throw new Error('not a frame');
      frame = parsed as Frame;
    } catch {
      this.deps.close('malformed frame');
      return;
    }
    const [joinRef, ref, topic, event, payload] = frame;
    if (topic === 'phoenix' && event === 'heartbeat') return this.reply(joinRef, ref, topic, 'ok', {});
    if (event === 'phx_join') return this.join(joinRef, ref, topic, payload);
    if (event === 'phx_leave') {
      this.joining.delete(topic);
      this.leave(topic);
      return this.reply(joinRef, ref, topic, 'ok', {});
    }
    this.reply(joinRef, ref, topic, 'error', { reason: this.joined.has(topic) ? 'unknown event' : 'unmatched topic' });
  }

  /** The connection is gone: stop every watch. */
  close(): void {
    this.closed = true;
    for (const topic of [...this.joined.keys()]) this.leave(topic);
  }

  /** Also checked per frame: the expiry timer (token-expiry.ts) counts real time, frames see the clock. */
  private tokenExpired(): boolean {
    const deadline = this.deps.grants && tokenDeadline(this.deps.grants);
    return deadline !== undefined && this.deps.clock.now().getTime() >= deadline;
  }

  private send(frame: Frame): void {
    if (!this.closed) this.deps.send(JSON.stringify(frame));
  }

  private reply(joinRef: string | null, ref: string | null, topic: string, status: 'ok' | 'error', response: unknown): void {
    this.send([joinRef, ref, topic, 'phx_reply', { status, response }]);
  }

  private leave(topic: string): void {
    const j = this.joined.get(topic);
    if (!j) return;
    this.joined.delete(topic);
    j.watch.close();
  }

  /** Topics joined or being joined: joins are asynchronous, so pipelined joins must count too. */
  private topicCount(): number {
    let n = this.joined.size;
    for (const topic of this.joining.keys()) if (!this.joined.has(topic)) n++;
    return n;
  }

  private async join(joinRef: string | null, ref: string | null, topic: string, payload: unknown): Promise<void> {
    // Decided synchronously, before any await, so a burst of joins cannot all pass the check.
    if (!this.joined.has(topic) && !this.joining.has(topic) && this.topicCount() >= MAX_TOPICS) {
      return this.reply(joinRef, ref, topic, 'error', { reason: 'too many topics' });
    }
    this.joining.set(topic, joinRef);
    let joined: Joined;
    try {
      joined = await this.subscribe(joinRef, topic, payload);
    } catch (err) {
      if (!(err instanceof JoinError)) this.deps.onError(err);
      if (this.joining.get(topic) === joinRef) this.joining.delete(topic);
      return this.reply(joinRef, ref, topic, 'error', { reason: err instanceof JoinError ? err.message : 'join failed' });
    }
    // Superseded by a later join of the same topic, or the socket closed, while subscribing.
    if (this.closed || this.joining.get(topic) !== joinRef) {
      joined.watch.close();
      return;
    }
    this.joining.delete(topic);
    const previous = this.joined.get(topic);
    if (previous) {
      this.leave(topic);
      this.send([previous.joinRef, null, topic, 'phx_close', {}]);
    }
    this.joined.set(topic, joined);
    this.reply(joinRef, ref, topic, 'ok', {});
  }

  private async subscribe(joinRef: string | null, topic: string, payload: unknown): Promise<Joined> {
    const m = TOPIC.exec(topic);
    if (!m) throw new JoinError('unmatched topic');
    const [, channelIdOrKey, userId] = m;
    const g = this.deps.grants;
    if (g && g.userId !== userId) throw new JoinError('unauthorized');
    const channel = await findChannel(this.deps.db, channelIdOrKey);
    if (!channel) throw new JoinError('channel not found');

    const options = typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? payload as Record<string, unknown> : {};
    const entries = Object.entries(options);
    const refs = new Map<string, FeedQuery>();
    for (const [clientRef, opts] of entries.length ? entries : [['default', {}] as [string, unknown]]) {
      let filters;
      try {
        filters = feedFilters(opts);
      } catch (e) {
        throw new JoinError(`${clientRef}: ${(e as Error).message}`);
      }
      let tenantScope;
      if (g) {
        const d = decideTenant(g, 'feed/read', filters.tenant);
        if (!d.allowed) throw new JoinError('unauthorized');
        tenantScope = d.scope;
      }
      refs.set(clientRef, { recipient: { collection: USERS, id: userId }, channelId: channel.id, ...filters, ...(tenantScope ? { tenantScope } : {}) });
    }

    const watch = new FeedWatch(this.deps.db, refs, {
      hub: this.deps.hub,
      channelId: channel.id,
      userId,
      withItems: false,
      onChange: (changes) => this.push(topic, joinRef, changes),
      onError: this.deps.onError,
    });
    await watch.open();
    return { joinRef, watch };
  }

  private push(topic: string, joinRef: string | null, changes: FeedChange[]): void {
    if (this.closed || this.joined.get(topic)?.joinRef !== joinRef) return;
    // Spliced rather than stringified whole: the payload is shared, only the join ref is ours.
    this.deps.send(`[${JSON.stringify(joinRef)},null,${JSON.stringify(topic)},"new-message",${pushPayload(changes)}]`);
  }
}

/**
 * Encoded payloads by the hub's answer they came from, then by references: every socket of the
 * same feed at the same cursor gets the same answer object, so its payload is encoded once.
 */
const encoded = new WeakMap<object, Map<string, string>>();

/** The `new-message` payload: `{event, metadata, data, attn}`, as JSON. */
function pushPayload(changes: FeedChange[]): string {
  if (changes.length !== 1) return JSON.stringify(payloadOf(changes));
  const [c] = changes;
  const refsKey = c.refs.join('\u0000');
  let bySource = encoded.get(c.source);
  if (!bySource) { bySource = new Map(); encoded.set(c.source, bySource); }
  let text = bySource.get(refsKey);
  if (text === undefined) { text = JSON.stringify(payloadOf(changes)); bySource.set(refsKey, text); }
  return text;
}

function payloadOf(changes: FeedChange[]) {
  const meta = (c: FeedChange) => ({ __typename: 'FeedMetadata', ...c.counts });
  const data: Record<string, { metadata: ReturnType<typeof meta> }> = {};
  for (const c of changes) for (const r of c.refs) data[r] = { metadata: meta(c) };
  return { event: 'new-message', metadata: meta(changes[0]), data, attn: changes.flatMap((c) => c.refs) };
}
