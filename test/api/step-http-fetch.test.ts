import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, startTestHerald, type StartOptions, type TestHerald } from '../support/harness.js';
import { feedTexts, runDetail, runsOf } from '../support/runs.js';

interface Hit { method: string; path: string; query: Record<string, string>; headers: IncomingHttpHeaders; body: string }
interface Reply { status: number; body?: string }

/**
 * A real HTTP server on 127.0.0.1 that records every request. Replies are queued per path
 * (the last one repeats); a reply may be a promise, so a test can hold a request open.
 */
async function startApi() {
  const hits: Hit[] = [];
  const replies = new Map<string, (Reply | (() => Promise<Reply>))[]>();
  const arrived: ((hit: Hit) => void)[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const url = new URL(req.url!, 'http://x');
      const hit: Hit = { method: req.method!, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, body: Buffer.concat(chunks).toString() };
      hits.push(hit);
      arrived.splice(0).forEach((notify) => notify(hit));
      const queue = replies.get(url.pathname) ?? [{ status: 404 }];
      const next = queue.length > 1 ? queue.shift()! : queue[0];
      const reply = typeof next === 'function' ? await next() : next;
      res.writeHead(reply.status, reply.body ? { 'content-type': 'application/json' } : {}).end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    hitsOf: (path: string) => hits.filter((h) => h.path === path),
    reply: (path: string, ...queue: (Reply | (() => Promise<Reply>))[]) => { replies.set(path, queue); },
    /** Resolves when the next request arrives. */
    nextRequest: () => new Promise<Hit>((resolve) => arrived.push(resolve)),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

const json = (status: number, body: unknown): Reply => ({ status, body: JSON.stringify(body) });
const feed = (body: string) => ({ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: body } });
const fetchStep = (settings: Record<string, unknown>) => ({ ref: 'fetch', type: 'http_fetch', settings });

const workflows = [
  {
    key: 'profile', name: 'Profile',
    steps: [
      fetchStep({
        url: '{{ data.base }}/profiles/{{ recipient.id }}',
        query_params: [{ key: 'plan', value: '{{ data.plan }}' }, { key: 'v', value: '2' }],
        headers: [{ key: 'Authorization', value: 'Bearer {{ data.token }}' }],
      }),
      feed('{{ recipient.id }} scored {{ data.score }} on {{ data.plan }}'),
    ],
  },
  {
    key: 'order', name: 'Order',
    steps: [
      fetchStep({ method: 'post', url: '{{ data.base }}/orders', body: '{"user": "{{ recipient.id }}", "items": {{ data.items | json }}}' }),
      feed('Order {{ data.order_id }}'),
    ],
  },
  {
    key: 'nested', name: 'Nested',
    steps: [fetchStep({ url: '{{ data.base }}/profiles/{{ recipient.id }}', response_path: 'profile.remote' }), feed('{{ data.profile.remote.score }}')],
  },
  { key: 'ping', name: 'Ping', steps: [fetchStep({ method: 'delete', url: '{{ data.base }}/sessions/1' }), feed('pinged {{ data.base | size }}')] },
  {
    key: 'signed', name: 'Signed',
    steps: [fetchStep({ method: 'put', url: '{{ data.base }}/hooks', body: '{"id": "{{ recipient.id }}"}', signing_key: 'sign-{{ data.secret }}' }), feed('signed')],
  },
];

async function haltReason(t: TestHerald, workflow: string) {
  const run = await runDetail(t, (await runsOf(t, workflow))[0].id);
  return { status: run.status, halted: run.events.find((e) => e.event === 'run_halted')?.data ?? null, events: run.events };
}

describe.each(engines)('http_fetch steps (%s)', (engine) => {
  let t: TestHerald;
  let api: Awaited<ReturnType<typeof startApi>>;
  const start = async (opts: StartOptions = {}) => { t = await startTestHerald(engine, { workflows, ...opts }); };
  beforeEach(async () => { api = await startApi(); });
  afterEach(async () => {
    await t?.close();
    await api.close();
  });

  it('GETs the templated URL, query and headers and shallow-merges the JSON answer into data', async () => {
    await start();
    api.reply('/profiles/ada', json(200, { score: 42, plan: 'gold' }));
    await t.knock.workflows.trigger('profile', { recipients: ['ada'], data: { base: api.base, plan: 'free', token: 'tok-1' } });
    await t.drain();
    expect(api.hits).toHaveLength(1);
    expect(api.hits[0]).toMatchObject({ method: 'GET', path: '/profiles/ada', query: { plan: 'free', v: '2' } });
    expect(api.hits[0].headers.authorization).toBe('Bearer tok-1');
    // Top-level keys of the answer overwrite the trigger's; the rest of data is kept.
    expect(await feedTexts(t, 'ada')).toEqual(['ada scored 42 on gold']);
    const [message] = (await t.knock.users.listMessages('ada')).items;
    expect(message.data).toMatchObject({ base: api.base, token: 'tok-1', score: 42, plan: 'gold' });
  });

  it('POSTs the rendered body as JSON and continues with a 201 answer', async () => {
    await start();
    api.reply('/orders', json(201, { order_id: 'o-7' }));
    await t.knock.workflows.trigger('order', { recipients: ['ada'], data: { base: api.base, items: [{ sku: 'a', qty: 2 }] } });
    await t.drain();
    expect(api.hits[0].method).toBe('POST');
    expect(api.hits[0].headers['content-type']).toBe('application/json');
    expect(JSON.parse(api.hits[0].body)).toEqual({ user: 'ada', items: [{ sku: 'a', qty: 2 }] });
    expect(await feedTexts(t, 'ada')).toEqual(['Order o-7']);
  });

  it('places the answer at response_path instead of merging it', async () => {
    await start();
    api.reply('/profiles/ada', json(200, { score: 7 }));
    await t.knock.workflows.trigger('nested', { recipients: ['ada'], data: { base: api.base, profile: { local: true } } });
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['7']);
    const [message] = (await t.knock.users.listMessages('ada')).items;
    expect(message.data).toMatchObject({ profile: { local: true, remote: { score: 7 } } });
    expect(message.data).not.toHaveProperty('score');
  });

  it('a 204 with an empty body is a success that leaves data unchanged', async () => {
    await start();
    api.reply('/sessions/1', { status: 204 });
    await t.knock.workflows.trigger('ping', { recipients: ['ada'], data: { base: api.base } });
    await t.drain();
    expect(api.hits[0].method).toBe('DELETE');
    expect(await feedTexts(t, 'ada')).toEqual([`pinged ${api.base.length}`]);
  });

  it('retries a 5xx after 30 s as a durable timer and then continues', async () => {
    await start();
    api.reply('/profiles/ada', json(500, { error: 'down' }), json(200, { score: 1, plan: 'pro' }));
    await t.knock.workflows.trigger('profile', { recipients: ['ada'], data: { base: api.base } });
    await t.drain();
    expect((await runsOf(t, 'profile'))[0].status).toBe('paused');
    await t.clock.advance(29_999);
    await t.drain();
    expect(api.hits).toHaveLength(1);
    await t.clock.advance(1);
    await t.drain();
    expect(api.hits).toHaveLength(2);
    expect(await feedTexts(t, 'ada')).toEqual(['ada scored 1 on pro']);
    const { status, events } = await haltReason(t, 'profile');
    expect(status).toBe('completed');
    const started = events.filter((e) => e.event === 'step_started' && e.step_ref === 'fetch');
    expect(started[0].data).toMatchObject({ attempt: 1, status: 500, error: 'the server answered 500' });
  });

  it('halts the run after three 5xx answers (retries after 30 s, then 60 s)', async () => {
    await start();
    api.reply('/profiles/ada', json(503, {}));
    await t.knock.workflows.trigger('profile', { recipients: ['ada'], data: { base: api.base } });
    await t.drain();
    await t.clock.advance(30_000);
    await t.drain();
    expect(api.hits).toHaveLength(2);
    await t.clock.advance(59_999);
    await t.drain();
    expect(api.hits).toHaveLength(2);
    await t.clock.advance(1);
    await t.drain();
    expect(api.hits).toHaveLength(3);
    const { status, halted } = await haltReason(t, 'profile');
    expect(status).toBe('completed');
    expect(halted).toMatchObject({ reason: 'http_fetch failed: the server answered 503 (attempt 3 of 3)', status: 503 });
    expect(await feedTexts(t, 'ada')).toEqual([]);
  });

  it('halts at once on a 4xx, recording the reason', async () => {
    await start();
    api.reply('/profiles/ada', json(404, { error: 'no such profile' }));
    await t.knock.workflows.trigger('profile', { recipients: ['ada'], data: { base: api.base } });
    await t.drain();
    await t.clock.advance(120_000);
    await t.drain();
    expect(api.hits).toHaveLength(1);
    const { status, halted } = await haltReason(t, 'profile');
    expect(status).toBe('completed');
    expect(halted).toMatchObject({ reason: 'http_fetch failed: the server answered 404', status: 404, url: `${api.base}/profiles/ada` });
    expect(await feedTexts(t, 'ada')).toEqual([]);
  });

  it('halts when a successful answer is not a JSON object', async () => {
    await start();
    api.reply('/profiles/ada', { status: 200, body: 'hello' });
    await t.knock.workflows.trigger('profile', { recipients: ['ada'], data: { base: api.base } });
    await t.drain();
    expect((await haltReason(t, 'profile')).halted?.reason).toBe('http_fetch failed: the response body is not JSON');
    expect(await feedTexts(t, 'ada')).toEqual([]);
  });

  it('halts on a URL that is not http(s), without retrying', async () => {
    await start();
    await t.knock.workflows.trigger('profile', { recipients: ['ada'], data: { base: 'file:///etc' } });
    await t.drain();
    expect((await haltReason(t, 'profile')).halted?.reason).toBe('http_fetch failed: the URL scheme file: is not http or https');
  });

  it('retries a request that times out (timeout shortened from 15 s for the test)', async () => {
    await start({ fetch: { timeoutMs: 300 } });
    // The first request is never answered; the retry is.
    api.reply('/profiles/ada', () => new Promise<Reply>(() => {}), json(200, { score: 3, plan: 'pro' }));
    await t.knock.workflows.trigger('profile', { recipients: ['ada'], data: { base: api.base } });
    await t.drain();
    const started = (await haltReason(t, 'profile')).events.find((e) => e.event === 'step_started' && e.step_ref === 'fetch');
    expect(started?.data).toMatchObject({ attempt: 1, error: 'no complete response within 300 ms' });
    await t.clock.advance(30_000);
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['ada scored 3 on pro']);
  });

  it('a run waiting to retry is cancellable: the retry never happens', async () => {
    await start();
    api.reply('/profiles/ada', json(502, {}));
    await t.knock.workflows.trigger('profile', { recipients: ['ada'], data: { base: api.base }, cancellation_key: 'k1' });
    await t.drain();
    await t.knock.workflows.cancel('profile', { cancellation_key: 'k1' });
    await t.clock.advance(120_000);
    await t.drain();
    expect(api.hits).toHaveLength(1);
    expect((await runsOf(t, 'profile'))[0].status).toBe('cancelled');
  });

  it('discards the answer of a request that was in flight when the run was cancelled', async () => {
    await start();
    let answer!: (reply: Reply) => void;
    api.reply('/profiles/ada', () => new Promise<Reply>((resolve) => { answer = resolve; }));
    await t.knock.workflows.trigger('profile', { recipients: ['ada'], data: { base: api.base }, cancellation_key: 'k2' });
    const arrived = api.nextRequest();
    const draining = t.drain();
    await arrived;
    await t.knock.workflows.cancel('profile', { cancellation_key: 'k2' });
    answer(json(200, { score: 9, plan: 'pro' }));
    await draining;
    await t.drain();
    const run = await runDetail(t, (await runsOf(t, 'profile'))[0].id);
    expect(run.status).toBe('cancelled');
    expect(run.events.map((e) => e.event)).not.toContain('step_completed');
    expect(await feedTexts(t, 'ada')).toEqual([]);
  });

  it('signs the request with x-knock-signature when signing_key is set', async () => {
    await start();
    api.reply('/hooks', { status: 204 });
    await t.knock.workflows.trigger('signed', { recipients: ['ada'], data: { base: api.base, secret: 's3cret' } });
    await t.drain();
    const [hit] = api.hits;
    // What a receiver does: recompute HMAC-SHA256("<t>.<raw body>") with the shared key, base64.
    const [, ts, sig] = /^t=(\d+),s=(.+)$/.exec(String(hit.headers['x-knock-signature']))!;
    expect(Number(ts)).toBe(t.clock.now().getTime());
    expect(sig).toBe(createHmac('sha256', 'sign-s3cret').update(`${ts}.${hit.body}`).digest('base64'));
    expect(JSON.parse(hit.body)).toEqual({ id: 'ada' });
    expect(await feedTexts(t, 'ada')).toEqual(['signed']);
  });

  it('refuses loopback, metadata and private addresses unless private networks are allowed', async () => {
    await start({ outbound: { allowPrivateNetworks: false } });
    api.reply('/profiles/ada', json(200, { score: 1 }));
    const targets = { ada: api.base, bob: 'http://169.254.169.254/latest/meta-data', cyd: 'http://10.0.0.1' };
    for (const [user, base] of Object.entries(targets)) await t.knock.workflows.trigger('profile', { recipients: [user], data: { base } });
    await t.drain();
    const reasons = await Promise.all((await runsOf(t, 'profile')).map(async (r) => {
      const run = await runDetail(t, r.id);
      return run.events.find((e) => e.event === 'run_halted')?.data?.reason;
    }));
    expect(reasons.sort()).toEqual([
      'http_fetch failed: refused to connect to 10.0.0.1: it is a private address (set HERALD_OUTBOUND_ALLOW_PRIVATE_NETWORKS to allow it)',
      'http_fetch failed: refused to connect to 127.0.0.1: it is a loopback address (set HERALD_OUTBOUND_ALLOW_PRIVATE_NETWORKS to allow it)',
      'http_fetch failed: refused to connect to 169.254.169.254: it is a link-local address (set HERALD_OUTBOUND_ALLOW_PRIVATE_NETWORKS to allow it)',
    ]);
    expect(api.hits).toHaveLength(0);
  });
});
