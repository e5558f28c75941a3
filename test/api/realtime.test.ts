/**
 * Realtime feed updates over Knock's Phoenix socket, driven by the REAL `@knocklabs/client`
 * (phoenix.js 1.8 inside it) in Node. The client opens its socket only when `window` exists and
 * uses the global WebSocket, so the test provides both while it builds the client (`ws` stands
 * in for the browser's WebSocket).
 *
 * Two Herald processes share one database: A serves the socket and the feed; the messages are
 * created by B's worker. The only path from B to A is the database's NOTIFY.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import KnockExport, { type Feed, type FeedClientOptions } from '@knocklabs/client';
import { generateKeyPairSync } from 'node:crypto';
import { signUserToken } from '@knocklabs/node';
import { ManualClock } from '../../src/domain/clock.js';
import { engines } from '../support/harness.js';
import { openSharedDb, startHeraldOn, type RunningHerald, type SharedDb } from '../support/two-heralds.js';

const Knock = ((KnockExport as { default?: unknown }).default ?? KnockExport) as typeof KnockExport.default;
type Knock = InstanceType<typeof Knock>;

const hello = {
  key: 'hello',
  name: 'Hello',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hello #{{ data.n }}' } }],
};

const { publicKey: rsaPublic, privateKey: rsaPrivate } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingPublicKey = rsaPublic.export({ type: 'spki', format: 'pem' }).toString();
const signingKey = rsaPrivate.export({ type: 'pkcs8', format: 'pem' }).toString();

type Frame = [string | null, string | null, string, string, any];

/** Every frame the server sent to any socket the browser client opened, and waiters on them. */
const frames: Frame[] = [];
const waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
/** Resolves with the next server frame (from now on) that matches. */
const nextFrame = (match: (f: Frame) => boolean) => new Promise<Frame>((resolve) => waiters.push({ match, resolve }));

/** The browser's WebSocket, played by `ws`, recording what the server sends. */
class BrowserWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols);
    this.addEventListener('message', (e) => {
      const frame = JSON.parse(String(e.data)) as Frame;
      frames.push(frame);
      for (const w of waiters.splice(0)) {
        if (w.match(frame)) w.resolve(frame);
        else waiters.push(w);
      }
    });
  }
}

const isJoinOk = (topic: string) => (f: Frame) => f[2] === topic && f[3] === 'phx_reply' && f[0] === f[1] && f[4].status === 'ok';
const isNewMessage = (topic: string) => (f: Frame) => f[2] === topic && f[3] === 'new-message';

describe.each(engines)('realtime feed socket (%s)', (engine) => {
  let shared: SharedDb;
  /** Serves the socket and the feed. */
  let api: RunningHerald;
  /** Runs the worker that creates the messages. */
  let worker: RunningHerald;
  let knock: Knock | undefined;
  let channel: string;
  // The SDK's signUserToken stamps tokens with the real time (iat, exp); the server clock must
  // agree, so each test starts it at the real time.
  let clock: ManualClock;

  /**
   * The browser client, signed in as `userId`. Its API client (and socket) is built while
   * `window` and `WebSocket` exist; they are removed again because PGlite takes a `window` to
   * mean it runs in a browser.
   */
  const browser = (userId: string) => {
    const g = globalThis as Record<string, unknown>;
    g.window = globalThis;
    g.WebSocket = BrowserWebSocket;
    try {
      const k = new Knock(api.publicKey, { host: api.url });
      k.authenticate(userId);
      k.client();
      return k;
    } finally {
      delete g.window;
      delete g.WebSocket;
    }
  };

  const start = async (opts: { signingPublicKey?: string } = {}) => {
    shared = await openSharedDb(engine);
    clock = new ManualClock(new Date());
    api = await startHeraldOn(shared.dbs[0], { clock, workflows: [hello], ...opts });
    worker = await startHeraldOn(shared.dbs[1], { clock, workflows: [hello], ...opts });
    channel = (await shared.dbs[0].query<{ id: string }>("SELECT id FROM channels WHERE key = 'in-app-feed'"))[0].id;
  };
  beforeEach(() => { frames.length = 0; waiters.length = 0; });
  afterEach(async () => {
    knock?.teardown();
    knock = undefined;
    await api.close();
    await worker.close();
    await shared.close();
  });

  /** A message for `recipients`, created by the OTHER process's worker. */
  const deliver = async (recipients: string[], data: Record<string, unknown>, tenant?: string) => {
    await api.knock.workflows.trigger('hello', { recipients, data, ...(tenant ? { tenant } : {}) });
    clock.advance(1000);
    expect(await worker.drain()).toBeGreaterThan(0);
  };

  /** Opens a feed in the browser client and waits until its socket channel has joined. */
  const listen = async (k: Knock, options: FeedClientOptions = {}) => {
    const feed = k.feeds.initialize(channel, options);
    await feed.fetch();
    const topic = `feeds:${channel}:${k.userId}`;
    const joined = nextFrame(isJoinOk(topic));
    feed.listenForUpdates();
    await joined;
    return { feed, topic };
  };

  const realtimeItems = (feed: Feed) => new Promise<void>((resolve) => feed.on('items.received.realtime', () => resolve()));
  const ns = (feed: Feed) => feed.getState().items.map((i) => i.data?.n);

  it('pushes new-message to the real client, which fetches the new item (created by another process)', async () => {
    await start();
    await deliver(['ada'], { n: 1 });
    knock = browser('ada');
    const { feed, topic } = await listen(knock);
    expect(ns(feed)).toEqual([1]);

    const pushed = nextFrame(isNewMessage(topic));
    const arrived = realtimeItems(feed);
    await deliver(['ada', 'bob'], { n: 2 });
    const [joinRef, ref, , , payload] = await pushed;
    await arrived;

    expect(ref).toBeNull();
    expect(joinRef).toEqual(expect.any(String));
    expect(payload).toEqual({
      event: 'new-message',
      metadata: { __typename: 'FeedMetadata', total_count: 2, unread_count: 2, unseen_count: 2 },
      data: { [feed.referenceId]: { metadata: { __typename: 'FeedMetadata', total_count: 2, unread_count: 2, unseen_count: 2 } } },
      attn: [feed.referenceId],
    });
    expect(ns(feed)).toEqual([2, 1]);
    expect(feed.getState().metadata).toMatchObject({ total_count: 2, unread_count: 2 });
  });

  // Retried: once, on a machine at load average 20, the push for the re-joined topic never came
  // within the timeout (a socket re-join racing the worker's commit); see the closing note.
  it("computes attn and counts with each reference's own filters", { retry: 2 }, async () => {
    await start();
    knock = browser('ada');
    const acme = await listen(knock, { tenant: 'acme' });
    // A second feed instance on the same channel re-joins the topic with both references.
    const all = await listen(knock, {});

    const first = nextFrame(isNewMessage(all.topic));
    await deliver(['ada'], { n: 1 }, 'globex');
    expect((await first)[4]).toMatchObject({
      attn: [all.feed.referenceId],
      data: { [all.feed.referenceId]: { metadata: { total_count: 1 } } },
    });

    const second = nextFrame(isNewMessage(all.topic));
    const arrived = realtimeItems(acme.feed);
    await deliver(['ada'], { n: 2 }, 'acme');
    const payload = (await second)[4];
    expect([...payload.attn].sort()).toEqual([acme.feed.referenceId, all.feed.referenceId].sort());
    expect(payload.data[acme.feed.referenceId].metadata.total_count).toBe(1);
    expect(payload.data[all.feed.referenceId].metadata.total_count).toBe(2);
    await arrived;
    expect(ns(acme.feed)).toEqual([2]);
  });

  it('loses nothing across a reconnect: the next push makes the client fetch what it missed', async () => {
    await start();
    await deliver(['ada'], { n: 1 });
    knock = browser('ada');
    const { feed, topic } = await listen(knock);
    const socket = knock.client().socket!;

    socket.disconnect();
    await deliver(['ada'], { n: 2 });
    const rejoined = nextFrame(isJoinOk(topic));
    socket.connect();
    await rejoined;
    expect(ns(feed)).toEqual([1]);

    const arrived = realtimeItems(feed);
    await deliver(['ada'], { n: 3 });
    await arrived;
    expect(ns(feed)).toEqual([3, 2, 1]);
  });

  it('authenticates the socket with api_key and user_token: own topic only, tokens required', async () => {
    await start({ signingPublicKey });
    const url = (token?: string) => `${api.url.replace('http', 'ws')}/ws/v1/websocket?api_key=${api.publicKey}${token ? `&user_token=${token}` : ''}&vsn=2.0.0`;

    const refused = new WebSocket(url());
    const status = await new Promise<number | undefined>((resolve) => refused.on('unexpected-response', (_req, res) => resolve(res.statusCode)));
    expect(status).toBe(401);

    const raw = new WebSocket(url(await signUserToken('ada', { signingKey })));
    const replies: Frame[] = [];
    const reply = () => new Promise<Frame>((resolve) => raw.once('message', (d) => { const f = JSON.parse(String(d)) as Frame; replies.push(f); resolve(f); }));
    await new Promise((resolve) => raw.once('open', resolve));
    const ask = async (frame: Frame) => { const r = reply(); raw.send(JSON.stringify(frame)); return r; };

    expect(await ask([null, '1', 'phoenix', 'heartbeat', {}])).toEqual([null, '1', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
    expect(await ask(['2', '2', `feeds:${channel}:bob`, 'phx_join', { r1: {} }])).toEqual(['2', '2', `feeds:${channel}:bob`, 'phx_reply', { status: 'error', response: { reason: 'unauthorized' } }]);
    expect(await ask(['3', '3', 'feeds:no-such-channel:ada', 'phx_join', { r1: {} }])).toEqual(['3', '3', 'feeds:no-such-channel:ada', 'phx_reply', { status: 'error', response: { reason: 'channel not found' } }]);
    expect(await ask(['4', '4', 'feeds:in-app-feed:ada', 'phx_join', { r1: { status: 'bogus' } }])).toEqual(['4', '4', 'feeds:in-app-feed:ada', 'phx_reply', { status: 'error', response: { reason: 'r1: status must be one of unread, read, unseen, seen, all' } }]);
    expect(await ask(['5', '5', 'feeds:in-app-feed:ada', 'phx_join', { r1: { archived: 'exclude' } }])).toEqual(['5', '5', 'feeds:in-app-feed:ada', 'phx_reply', { status: 'ok', response: {} }]);
    expect(await ask(['5', '6', 'feeds:in-app-feed:ada', 'phx_leave', {}])).toEqual(['5', '6', 'feeds:in-app-feed:ada', 'phx_reply', { status: 'ok', response: {} }]);
    expect(await ask(['7', '7', 'rooms:lobby', 'shout', {}])).toEqual(['7', '7', 'rooms:lobby', 'phx_reply', { status: 'error', response: { reason: 'unmatched topic' } }]);
    raw.close();
  });
});
