/**
 * Regressions from the attack campaign (issue 11, items 7 and 8), each as an attacker tried it:
 * HEAD skipping grant checks, a tenant-scoped token reading another tenant's preference set,
 * pipelined joins passing the topic limit, the secret key in a query string, credentials in
 * the logs, and the Host header reflected into `progress_path`.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';
import { send } from '../support/raw-http.js';
import { newSigningKeys, signClaimsAt } from '../support/user-tokens.js';

const keys = newSigningKeys();
const tenantGrant = (tenant: string, ...grants: string[]) => ({ [`https://api.knock.app/v1/tenants/${tenant}`]: Object.fromEntries(grants.map((g) => [g, [{}]])) });

describe.each(engines)('auth regressions (%s)', (engine) => {
  let t: TestHerald;
  const logLines: string[] = [];

  beforeAll(async () => {
    // Every log line at every level, as an operator's log pipeline would receive it.
    const sink = new Writable({ write(chunk, _enc, done) { logLines.push(String(chunk)); done(); } });
    t = await startTestHerald(engine, { signingPublicKey: keys.signingPublicKey, logger: pino({ level: 'trace' }, sink) });
  });
  afterAll(async () => { await t?.close(); });

  const asUser = async (claims: Record<string, unknown>) => ({
    authorization: `Bearer ${t.publicKey}`,
    'x-knock-user-token': await signClaimsAt(t.clock, keys.signingKey, claims),
  });

  it('checks HEAD exactly as GET: a token scoped to tenant acme cannot probe globex', async () => {
    const acme = await asUser({ sub: 'ada', grants: tenantGrant('acme', 'user_feed/read') });
    const feed = '/v1/users/ada/feeds/in-app-feed';
    expect((await send(t.url, 'GET', `${feed}?tenant=acme`, acme)).status).toBe(200);
    expect((await send(t.url, 'HEAD', `${feed}?tenant=acme`, acme)).status).toBe(200);
    expect((await send(t.url, 'GET', `${feed}?tenant=globex`, acme)).status).toBe(403);
    expect((await send(t.url, 'HEAD', `${feed}?tenant=globex`, acme)).status).toBe(403);
  });

  it("keeps a token scoped to tenant acme out of tenant globex's preference set", async () => {
    await t.knock.users.setPreferences('ada', 'default', { workflows: { digest: false } });
    await t.knock.users.setPreferences('ada', 'acme', { workflows: { acme_only: true } });
    await t.knock.users.setPreferences('ada', 'globex', { workflows: { globex_secret: true } });
    const acme = await asUser({ sub: 'ada', grants: tenantGrant('acme', 'preferences/read', 'preferences/write') });

    const list = await send(t.url, 'GET', '/v1/users/ada/preferences', acme);
    expect(list.status).toBe(200);
    expect((list.body as { id: string }[]).map((s) => s.id).sort()).toEqual(['acme', 'default']);
    expect(JSON.stringify(list.body)).not.toContain('globex_secret');

    // The set in the path counts, whatever tenant the query names.
    for (const path of ['/v1/users/ada/preferences/globex', '/v1/users/ada/preferences/globex?tenant=acme']) {
      const res = await send(t.url, 'GET', path, acme);
      expect(res.status, path).toBe(403);
      expect(JSON.stringify(res.body)).not.toContain('globex_secret');
    }
    expect((await send(t.url, 'PUT', '/v1/users/ada/preferences/globex?tenant=acme', acme, { workflows: { x: false } })).status).toBe(403);
    expect((await send(t.url, 'PUT', '/v1/users/ada/preferences/globex/workflows/x?tenant=acme', acme, { subscribed: false })).status).toBe(403);
    expect((await send(t.url, 'GET', '/v1/users/ada/preferences/acme', acme)).status).toBe(200);
    expect(await t.knock.users.getPreferences('ada', 'globex')).toMatchObject({ workflows: { globex_secret: true } });
  });

  it('holds the 50-topic limit against joins sent all at once', async () => {
    // The secret key in a header opens a socket for any user's topics (a server-side client).
    const ws = new WebSocket(`${t.url.replace('http', 'ws')}/ws/v1/websocket?vsn=2.0.0`, { headers: { authorization: `Bearer ${t.secretKey}` } });
    const replies: { topic: string; status: string; reason?: string }[] = [];
    ws.on('message', (d) => {
      const [, , topic, event, payload] = JSON.parse(String(d)) as [unknown, unknown, string, string, { status: string; response: { reason?: string } }];
      if (event === 'phx_reply') replies.push({ topic, status: payload.status, reason: payload.response.reason });
    });
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('unexpected-response', (_q, r) => reject(new Error(`upgrade ${r.statusCode}`))); });
    for (let i = 0; i < 70; i++) ws.send(JSON.stringify([String(i), String(i), `feeds:in-app-feed:user-${i}`, 'phx_join', { r: {} }]));
    await expect.poll(() => replies.length, { timeout: 20_000 }).toBe(70);
    expect(replies.filter((r) => r.status === 'ok')).toHaveLength(50);
    expect(replies.filter((r) => r.status === 'error').map((r) => r.reason)).toEqual(Array(20).fill('too many topics'));
    ws.close();
  }, 30_000);

  it('refuses the secret key in a query string, even where the public key may come there', async () => {
    const stream = await send(t.url, 'GET', `/v1/users/ada/feeds/in-app-feed/stream?api_key=${t.secretKey}`, {});
    expect(stream.status).toBe(401);
    expect(stream.body).toMatchObject({ code: 'authentication_required', message: expect.stringMatching(/never accepted in a URL/) });
    const users = await send(t.url, 'GET', `/v1/users?api_key=${t.secretKey}`, {});
    expect(users.status).toBe(401);
    const ws = new WebSocket(`${t.url.replace('http', 'ws')}/ws/v1/websocket?api_key=${t.secretKey}&vsn=2.0.0`);
    const status = await new Promise<number>((resolve) => { ws.on('unexpected-response', (_q, r) => resolve(r.statusCode ?? 0)); ws.on('open', () => resolve(101)); });
    expect(status).toBe(401);
  });

  it('writes no key or user token to the logs, at any level', async () => {
    const token = (await asUser({ sub: 'ada' }))['x-knock-user-token'];
    await send(t.url, 'GET', '/v1/users', { authorization: `Bearer ${t.secretKey}` });
    await send(t.url, 'GET', `/v1/users?api_key=${t.secretKey}`, {});
    await send(t.url, 'GET', `/v1/users/ada/feeds/in-app-feed/stream?api_key=${t.publicKey}&user_token=${token}`, {});
    await send(t.url, 'GET', `/v1/users/ada?API_KEY=${t.publicKey}&%75ser_token=${token}`, { 'x-knock-user-token': token });
    await send(t.url, 'POST', '/v1/channels/in-app-feed/provider_webhooks/postmark?token=hook-secret-123', {}, {});
    const logs = logLines.join('');
    expect(logs).toContain('/v1/users/ada/feeds/in-app-feed/stream?api_key=[redacted]&user_token=[redacted]');
    for (const secret of [t.secretKey, t.publicKey, token, 'hook-secret-123']) expect(logs).not.toContain(secret);
  });

  it('builds progress_path from the listen address, never from the Host header', async () => {
    const res = await send(t.url, 'POST', '/v1/users/bulk/identify', { authorization: `Bearer ${t.secretKey}`, host: 'attacker.example' }, { users: [{ id: 'u1' }] });
    expect(res.status).toBe(200);
    const path = (res.body as { progress_path: string }).progress_path;
    expect(path).toMatch(new RegExp(`^${t.url}/v1/bulk_operations/`));
    expect(path).not.toContain('attacker.example');
  });
});

describe.each(engines)('configured public URL (%s)', (engine) => {
  let t: TestHerald;
  beforeAll(async () => { t = await startTestHerald(engine, { publicUrl: 'https://notify.example.com/herald' }); });
  afterAll(async () => { await t?.close(); });

  it('builds progress_path from HERALD_PUBLIC_URL', async () => {
    const res = await send(t.url, 'POST', '/v1/channels/in-app-feed/messages/bulk/read', { authorization: `Bearer ${t.secretKey}`, host: 'attacker.example' }, {});
    expect(res.status).toBe(200);
    expect((res.body as { progress_path: string }).progress_path).toMatch(/^https:\/\/notify\.example\.com\/herald\/v1\/bulk_operations\//);
  });
});

describe.each(engines)('rate limit on realtime upgrades (%s)', (engine) => {
  let t: TestHerald;
  // The manual clock never leaves its one-second window, so the quota does not refill.
  beforeAll(async () => { t = await startTestHerald(engine, { rateLimits: { perKey: 3, perUser: 3 } }); });
  afterAll(async () => { await t?.close(); });

  it('counts WebSocket upgrades against the key, as any request: the fourth is a 429', async () => {
    const open = () => new Promise<{ status: number; ws: WebSocket }>((resolve) => {
      const ws = new WebSocket(`${t.url.replace('http', 'ws')}/ws/v1/websocket?api_key=${t.publicKey}&vsn=2.0.0`);
      ws.on('error', () => {});
      ws.on('unexpected-response', (_q, r) => { resolve({ status: r.statusCode ?? 0, ws }); r.resume(); });
      ws.on('open', () => resolve({ status: 101, ws }));
    });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await open());
    expect(answers.map((a) => a.status)).toEqual([101, 101, 101, 429]);
    // A refused upgrade never opened: only the open sockets are closed.
    for (const a of answers) if (a.status === 101) a.ws.terminate();
  });
});
