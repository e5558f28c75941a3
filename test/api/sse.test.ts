/**
 * The Server-Sent Events feed stream (a Herald extension):
 * `GET /v1/users/{user_id}/feeds/{channel_id}/stream`. One Herald serves the stream; the
 * messages are created by a second Herald's worker on the same database.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { signUserToken } from '@knocklabs/node';
import { ManualClock } from '../../src/domain/clock.js';
import { engines } from '../support/harness.js';
import { openSharedDb, startHeraldOn, type RunningHerald, type SharedDb } from '../support/two-heralds.js';

const hello = {
  key: 'hello',
  name: 'Hello',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hello #{{ data.n }}' } }],
};

const { publicKey: rsaPublic, privateKey: rsaPrivate } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingPublicKey = rsaPublic.export({ type: 'spki', format: 'pem' }).toString();
const signingKey = rsaPrivate.export({ type: 'pkcs8', format: 'pem' }).toString();

interface SseEvent { event: string; id?: string; data: any }

/** An open event stream: `next()` resolves with the next event (comments skipped). */
async function openStream(url: string, headers: Record<string, string>) {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const next = async (): Promise<SseEvent> => {
    for (;;) {
      const cut = buffer.indexOf('\n\n');
      if (cut >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const ev: Partial<SseEvent> = {};
        for (const line of block.split('\n')) {
          const [field, ...rest] = line.split(': ');
          const value = rest.join(': ');
          if (field === 'event') ev.event = value;
          if (field === 'id') ev.id = value;
          if (field === 'data') ev.data = JSON.parse(value);
        }
        if (ev.event) return ev as SseEvent;
        continue;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended');
      buffer += value;
    }
  };
  return { res, next, close: () => abort.abort() };
}

describe.each(engines)('feed event stream (%s)', (engine) => {
  let shared: SharedDb;
  let api: RunningHerald;
  let worker: RunningHerald;
  const streams: { close(): void }[] = [];
  // The SDK's signUserToken stamps tokens with the real time (iat, exp); the server clock must
  // agree, so each test starts it at the real time.
  let clock: ManualClock;

  const start = async () => {
    shared = await openSharedDb(engine);
    clock = new ManualClock(new Date());
    api = await startHeraldOn(shared.dbs[0], { clock, workflows: [hello], signingPublicKey });
    worker = await startHeraldOn(shared.dbs[1], { clock, workflows: [hello], signingPublicKey });
  };
  afterEach(async () => {
    for (const s of streams.splice(0)) s.close();
    await api.close();
    await worker.close();
    await shared.close();
  });

  const deliver = async (recipients: string[], data: Record<string, unknown>, tenant?: string) => {
    await api.knock.workflows.trigger('hello', { recipients, data, ...(tenant ? { tenant } : {}) });
    clock.advance(1000);
    expect(await worker.drain()).toBeGreaterThan(0);
  };

  const stream = async (userId: string, query = '', headers: Record<string, string> = {}) => {
    const s = await openStream(`${api.url}/v1/users/${userId}/feeds/in-app-feed/stream${query}`, {
      authorization: `Bearer ${api.publicKey}`,
      'x-knock-user-token': await signUserToken(userId, { signingKey }),
      ...headers,
    });
    streams.push(s);
    return s;
  };

  it('sends ready with the counts, then one event per new message with the item and counts', async () => {
    await start();
    await deliver(['ada'], { n: 1 });
    const s = await stream('ada');
    expect(s.res.status).toBe(200);
    expect(s.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(await s.next()).toEqual({ event: 'ready', data: { metadata: { __typename: 'FeedMetadata', total_count: 1, unread_count: 1, unseen_count: 1 } } });

    await deliver(['ada', 'bob'], { n: 2 });
    const ev = await s.next();
    expect(ev.event).toBe('new-message');
    expect(ev.data.event).toBe('new-message');
    expect(ev.data.item).toMatchObject({ __typename: 'FeedItem', data: { n: 2 }, read_at: null });
    expect(ev.data.item.blocks[0]).toMatchObject({ name: 'body', rendered: '<p>Hello #2</p>' });
    expect(ev.id).toBe(ev.data.item.__cursor);
    expect(ev.data.metadata).toEqual({ __typename: 'FeedMetadata', total_count: 2, unread_count: 2, unseen_count: 2 });
  });

  it('replays what a reconnecting client missed, from its Last-Event-ID, oldest first', async () => {
    await start();
    const first = await stream('ada');
    await first.next();
    await deliver(['ada'], { n: 1 });
    const seen = await first.next();
    first.close();

    await deliver(['ada'], { n: 2 });
    await deliver(['ada'], { n: 3 });
    const again = await stream('ada', '', { 'last-event-id': seen.id! });
    expect((await again.next()).event).toBe('ready');
    const replayed = [await again.next(), await again.next()];
    expect(replayed.map((e) => e.data.item.data.n)).toEqual([2, 3]);
    expect(replayed[1].data.metadata.total_count).toBe(3);
  });

  it("applies the feed's filters and the token's grants", async () => {
    await start();
    const acme = await stream('ada', '?tenant=acme');
    await acme.next();
    await deliver(['ada'], { n: 1 }, 'globex');
    await deliver(['ada'], { n: 2 }, 'acme');
    const ev = await acme.next();
    expect(ev.data.item.data).toEqual({ n: 2 });
    expect(ev.data.metadata.total_count).toBe(1);

    const others = await fetch(`${api.url}/v1/users/bob/feeds/in-app-feed/stream`, {
      headers: { authorization: `Bearer ${api.publicKey}`, 'x-knock-user-token': await signUserToken('ada', { signingKey }) },
    });
    expect(others.status).toBe(403);
    expect((await others.json()).code).toBe('authorization');
  });

  it('takes the key and token as query parameters, for EventSource', async () => {
    await start();
    const token = await signUserToken('ada', { signingKey });
    const s = await openStream(`${api.url}/v1/users/ada/feeds/in-app-feed/stream?api_key=${api.publicKey}&user_token=${token}`, {});
    streams.push(s);
    expect(s.res.status).toBe(200);
    expect((await s.next()).event).toBe('ready');
    const missing = await fetch(`${api.url}/v1/users/ada/feeds/in-app-feed/stream`);
    expect(missing.status).toBe(401);
  });
});
