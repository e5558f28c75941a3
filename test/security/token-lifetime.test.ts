/**
 * A user token's lifetime bounds the connections it opens. An SSE stream and a Phoenix socket
 * are closed AT the moment the token stops being accepted (its `exp` plus the 60 s of clock
 * skew Herald allows), by a timer, not when the client next speaks; nothing is pushed after.
 * A token without `exp` opens nothing.
 *
 * The tokens are real and short-lived: signed so that, by the Herald's clock, their deadline
 * is about five seconds away (time to deliver one message first); the tests wait in real time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';
import { newSigningKeys, signClaims, signClaimsAt } from '../support/user-tokens.js';

const keys = newSigningKeys();
const SKEW_S = 60;
/** How long the test tokens have left, by the server's clock. */
const LIFETIME_MS = 5_000;

const hello = {
  key: 'hello',
  name: 'Hello',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hello #{{ data.n }}' } }],
};

type Frame = [string | null, string | null, string, string, any];

describe.each(engines)('user token lifetime on streams and sockets (%s)', (engine) => {
  let t: TestHerald;
  beforeAll(async () => { t = await startTestHerald(engine, { signingPublicKey: keys.signingPublicKey, workflows: [hello] }); });
  afterAll(async () => { await t?.close(); });

  /** A token for ada whose deadline (exp + skew) is LIFETIME_MS from the Herald's now. */
  const shortLived = () => signClaimsAt(t.clock, keys.signingKey, { sub: 'ada' }, LIFETIME_MS / 1000 - SKEW_S);
  const noExp = () => signClaims(keys.signingKey, { sub: 'ada', iat: Math.floor(t.clock.now().getTime() / 1000) });

  const deliver = async (n: number) => {
    await t.knock.workflows.trigger('hello', { recipients: ['ada'], data: { n } });
    t.clock.advance(1000);
    await t.drain();
  };

  const streamUrl = (token: string) => `${t.url}/v1/users/ada/feeds/in-app-feed/stream?api_key=${t.publicKey}&user_token=${token}`;
  const socketUrl = (token: string) => `${t.url.replace('http', 'ws')}/ws/v1/websocket?api_key=${t.publicKey}&user_token=${token}&vsn=2.0.0`;

  it('ends an SSE stream when its token expires, with nothing pushed after', async () => {
    const opened = Date.now();
    const res = await fetch(streamUrl(await shortLived()));
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    const read = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return Date.now();
        text += Buffer.from(value).toString('utf8');
      }
    })();
    await deliver(1);
    await expect.poll(() => text.includes('event: new-message'), { timeout: LIFETIME_MS }).toBe(true);
    const endedAt = await Promise.race([read, new Promise<number>((_, reject) => setTimeout(() => reject(new Error('the stream outlived its token')), LIFETIME_MS + 10_000))]);
    // Not before the deadline (generous bounds: the box is loaded).
    expect(endedAt - opened).toBeGreaterThanOrEqual(LIFETIME_MS - 500);
    await deliver(2);
    const events = text.split('\n').filter((l) => l.startsWith('event: ')).map((l) => l.slice(7));
    expect(events).toEqual(['ready', 'new-message', 'expired']);
    expect(text).not.toContain('Hello #2');
  }, 30_000);

  it('closes a Phoenix socket when its token expires (close 1008), with nothing pushed after', async () => {
    const opened = Date.now();
    const ws = new WebSocket(socketUrl(await shortLived()));
    const frames: Frame[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(String(d)) as Frame));
    const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason), at: Date.now() })));
    await new Promise((resolve) => ws.once('open', resolve));
    const topic = 'feeds:in-app-feed:ada';
    ws.send(JSON.stringify(['1', '1', topic, 'phx_join', { r1: {} }]));
    await expect.poll(() => frames.some((f) => f[3] === 'phx_reply' && f[4].status === 'ok'), { timeout: 10_000 }).toBe(true);
    await deliver(1);
    await expect.poll(() => frames.some((f) => f[3] === 'new-message'), { timeout: 10_000 }).toBe(true);

    // The client stays silent: the server closes at the deadline by itself.
    const close = await Promise.race([closed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the socket outlived its token')), LIFETIME_MS + 10_000))]);
    expect(close.code).toBe(1008);
    expect(close.reason).toBe('user token expired');
    expect(close.at - opened).toBeGreaterThanOrEqual(LIFETIME_MS - 500);
    const pushes = frames.filter((f) => f[3] === 'new-message').length;
    await deliver(2);
    expect(frames.filter((f) => f[3] === 'new-message').length).toBe(pushes);
  }, 30_000);

  it('opens neither a stream nor a socket with a token that has no exp', async () => {
    const token = await noExp();
    const stream = await fetch(streamUrl(token));
    expect(stream.status).toBe(401);
    expect(await stream.json()).toMatchObject({ code: 'invalid_user_token', message: expect.stringMatching(/"exp" claim/) });

    const ws = new WebSocket(socketUrl(token));
    const status = await new Promise<number | undefined>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.on('open', () => resolve(101));
    });
    expect(status).toBe(401);
  });

  it('refuses a token issued more than the skew in the future, and honours exp up to the skew', async () => {
    const now = Math.floor(t.clock.now().getTime() / 1000);
    const pk = { authorization: `Bearer ${t.publicKey}` };
    const get = async (token: string) => (await fetch(`${t.url}/v1/users/ada/feeds/in-app-feed`, { headers: { ...pk, 'x-knock-user-token': token } })).status;
    expect(await get(await signClaims(keys.signingKey, { sub: 'ada', iat: now + SKEW_S - 5, exp: now + 3600 }))).toBe(200);
    expect(await get(await signClaims(keys.signingKey, { sub: 'ada', iat: now + SKEW_S + 5, exp: now + 3600 }))).toBe(401);
    expect(await get(await signClaims(keys.signingKey, { sub: 'ada', iat: now - 3600, exp: now - SKEW_S + 5 }))).toBe(200);
    expect(await get(await signClaims(keys.signingKey, { sub: 'ada', iat: now - 3600, exp: now - SKEW_S - 5 }))).toBe(401);
  });
});
