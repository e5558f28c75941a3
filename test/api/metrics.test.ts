/**
 * Prometheus metrics at /metrics: after a known workload (triggers through the Node SDK, the
 * worker drained, emails delivered to a real SMTP server on loopback) a scrape over HTTP reports
 * exactly what happened; the due-run gauges match the database; a failing provider's circuit,
 * SSE connections and rate-limit refusals show; off means 404, and a port of its own serves it
 * there, behind its token, and not on the API port.
 */
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import WebSocket from 'ws';
import { createHerald, type Herald } from '../../src/herald.js';
import type { MetricsOptions } from '../../src/metrics/config.js';
import { createMetricsRegistry } from '../../src/metrics/registry.js';
import { migrate } from '../../src/store/migrate.js';
import type { Db } from '../../src/store/db.js';
import { ManualClock } from '../../src/domain/clock.js';
import { engines, http, openTestDb, startTestHerald, writeWorkflowsDir, type TestHerald } from '../support/harness.js';
import { LoopbackSmtp } from '../support/smtp-server.js';

const notify = {
  key: 'notify',
  name: 'Notify',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hello {{ recipient.id }}' } }],
};
const digest = {
  key: 'digest',
  name: 'Digest',
  steps: [
    { ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'minutes', value: 10 } } },
    { ref: 'email', type: 'channel', channel_key: 'postal', template: { subject: 'Digest', text_body: 'Your digest, {{ recipient.id }}' } },
  ],
};

type Samples = Map<string, number>;

/** Prometheus text format → `name{a="1",b="2"}` (labels sorted) → value. */
function parse(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable line: ${line}`);
    const labels = m[2] ? [...m[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => `${l[1]}="${l[2]}"`).sort().join(',') : '';
    out.set(labels ? `${m[1]}{${labels}}` : m[1], Number(m[3]));
  }
  return out;
}

async function scrape(url: string, headers: Record<string, string>): Promise<{ status: number; type: string | null; samples: Samples; text: string }> {
  const res = await fetch(`${url}/metrics`, { headers });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), samples: res.status === 200 ? parse(text) : new Map(), text };
}

const MIN = 60_000;

describe.each(engines)('metrics after a known workload (%s)', (engine) => {
  let t: TestHerald;
  let smtp: LoopbackSmtp;
  afterEach(async () => {
    await t?.close();
    await smtp?.close();
  });

  const start = async (opts: Parameters<typeof startTestHerald>[1] = {}, users = ['ada', 'bob', 'cy', 'dee', 'eve']) => {
    smtp = await new LoopbackSmtp('smtp-pass').start();
    t = await startTestHerald(engine, {
      workflows: [notify, digest],
      channels: [{ key: 'postal', type: 'email', provider: 'smtp', name: 'Postal', settings: smtp.settings() }],
      rateLimits: { perKey: 0, perUser: 0 },
      ...opts,
    });
    for (const id of users) await t.knock.users.update(id, { email: `${id}@example.com` } as any);
  };
  const metrics = async () => {
    const s = await scrape(t.url, { authorization: `Bearer ${t.secretKey}` });
    expect(s.status).toBe(200);
    return s.samples;
  };

  it('counts triggers, runs, steps, messages and deliveries exactly, and the due runs', async () => {
    await start();
    for (const id of ['ada', 'bob']) await t.knock.workflows.trigger('notify', { recipients: [id] });
    expect((await http(t, 'POST', '/v1/workflows/notify/trigger', { recipients: ['cy'] }, { 'idempotency-key': 'k1' })).status).toBe(200);
    const replay = await http(t, 'POST', '/v1/workflows/notify/trigger', { recipients: ['cy'] }, { 'idempotency-key': 'k1' });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    await expect(t.knock.workflows.trigger('nope', { recipients: ['ada'] })).rejects.toThrow();
    for (const id of ['ada', 'bob']) await t.knock.workflows.trigger('digest', { recipients: [id] });
    await t.knock.workflows.trigger('digest', { recipients: ['cy'], cancellation_key: 'c1' });
    await t.drain();
    await t.knock.workflows.cancel('digest', { cancellation_key: 'c1' });

    // Two delays end; 3 s later (their lateness) they are due and not yet advanced.
    t.clock.advance(10 * MIN + 3000);
    const before = await metrics();
    expect(before.get('herald_due_runs')).toBe(2);
    expect(before.get('herald_oldest_due_run_age_seconds')).toBe(3);
    const [{ n }] = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM recipient_runs WHERE status IN ('queued', 'processing', 'paused') AND wake_at <= $1`, [t.clock.now()]);
    expect(before.get('herald_due_runs')).toBe(n);
    await t.drain();
    expect(smtp.received).toHaveLength(2);

    const m = await metrics();
    expect(m.get('herald_due_runs')).toBe(0);
    expect(m.get('herald_oldest_due_run_age_seconds')).toBe(0);
    expect(m.get('herald_triggers_total{outcome="accepted",workflow="notify"}')).toBe(3);
    expect(m.get('herald_triggers_total{outcome="replayed",workflow="notify"}')).toBe(1);
    expect(m.get('herald_triggers_total{outcome="rejected",workflow="nope"}')).toBe(1);
    expect(m.get('herald_triggers_total{outcome="accepted",workflow="digest"}')).toBe(3);
    expect(m.get('herald_runs_total{event="started"}')).toBe(6);
    expect(m.get('herald_runs_total{event="completed"}')).toBe(5);
    expect(m.get('herald_runs_total{event="cancelled"}')).toBe(1);
    expect(m.get('herald_runs_total{event="halted"}')).toBe(0);
    expect(m.get('herald_steps_total{outcome="completed",type="channel"}')).toBe(5);
    // The two delays ended 3 s late each, fired by the timer statement (store/timers.ts).
    expect(m.get('herald_steps_total{outcome="completed",type="delay"}')).toBe(2);
    expect(m.get('herald_delay_lateness_seconds_count')).toBe(2);
    expect(m.get('herald_delay_lateness_seconds_sum')).toBe(6);
    expect(m.get('herald_messages_total{channel_type="in_app_feed",status="delivered"}')).toBe(3);
    expect(m.get('herald_messages_total{channel_type="email",status="queued"}')).toBe(2);
    expect(m.get('herald_messages_total{channel_type="email",status="sent"}')).toBe(2);
    expect(m.get('herald_delivery_attempts_total{outcome="sent",provider="smtp"}')).toBe(2);
    expect(m.get('herald_delivery_duration_seconds_count{outcome="sent",provider="smtp"}')).toBe(2);
    expect(m.get('herald_rate_limit_rejections_total{scope="key"}')).toBe(0);
    // Process-wide figures: the pool, the event loop (prom-client's default metrics).
    expect(m.get('herald_db_pool_max_connections')).toBe(engine === 'pglite' ? 1 : 5);
    expect(m.get('herald_db_pool_connections')).toBeGreaterThanOrEqual(1);
    expect(m.has('herald_db_pool_waiting_requests')).toBe(true);
    expect(m.has('nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('needs the secret key on the API port, and answers in the Prometheus text format', async () => {
    await start();
    const none = await scrape(t.url, {});
    expect(none.status).toBe(401);
    expect(JSON.parse(none.text).code).toBe('api_key_missing');
    expect((await scrape(t.url, { authorization: `Bearer ${t.publicKey}` })).status).toBe(403);
    const ok = await scrape(t.url, { authorization: `Bearer ${t.secretKey}` });
    expect(ok.type).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('shows a provider circuit opened by consecutive failures, per channel and provider', async () => {
    await start();
    smtp.script = [451, 451, 451, 451, 451];
    for (const id of ['ada', 'bob', 'cy', 'dee', 'eve']) await t.knock.workflows.trigger('digest', { recipients: [id] });
    await t.drain();
    t.clock.advance(10 * MIN);
    await t.drain();
    const m = await metrics();
    expect(m.get('herald_delivery_attempts_total{outcome="retryable",provider="smtp"}')).toBe(5);
    expect(m.get('herald_provider_circuit_state{channel="postal",provider="smtp"}')).toBe(1);
    expect(m.get('herald_provider_circuit_consecutive_failures{channel="postal",provider="smtp"}')).toBe(5);
    // After its open time the next call probes it: half-open.
    t.clock.advance(61_000);
    expect((await metrics()).get('herald_provider_circuit_state{channel="postal",provider="smtp"}')).toBe(2);
  });

  it('counts open Phoenix sockets while they are open', async () => {
    await start({}, []);
    const socket = new WebSocket(`${t.url.replace('http', 'ws')}/ws/v1/websocket?api_key=${t.publicKey}&vsn=2.0.0`);
    await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject); });
    expect((await metrics()).get('herald_realtime_connections{transport="websocket"}')).toBe(1);
    socket.close();
    await expect.poll(async () => (await metrics()).get('herald_realtime_connections{transport="websocket"}')).toBe(0);
  });

  it('counts open SSE streams while they are open', async () => {
    await start();
    const abort = new AbortController();
    const res = await fetch(`${t.url}/v1/users/ada/feeds/in-app-feed/stream?api_key=${t.publicKey}`, { signal: abort.signal });
    expect(res.status).toBe(200);
    expect((await metrics()).get('herald_realtime_connections{transport="sse"}')).toBe(1);
    abort.abort();
    await expect.poll(async () => (await metrics()).get('herald_realtime_connections{transport="sse"}')).toBe(0);
  });

  it('counts rate-limit refusals, and a refused trigger as rate_limited', async () => {
    await start({ rateLimits: { perKey: 2, perUser: 0 } }, []);
    await t.knock.workflows.trigger('notify', { recipients: ['ada'] });
    await t.knock.workflows.trigger('notify', { recipients: ['bob'] });
    await expect(t.knock.workflows.trigger('notify', { recipients: ['cy'] })).rejects.toThrow();
    t.clock.advance(1000);
    const m = await metrics();
    expect(m.get('herald_rate_limit_rejections_total{scope="key"}')).toBe(1);
    expect(m.get('herald_triggers_total{outcome="rate_limited",workflow="notify"}')).toBe(1);
    expect(m.get('herald_triggers_total{outcome="accepted",workflow="notify"}')).toBe(2);
  });
});

describe.each(engines)('delay lateness (%s)', (engine) => {
  let db: Db | undefined;
  afterEach(async () => { await db?.close(); });

  // A delay's step_completed is committed by the claim that advances its run (plan-run.ts),
  // with the lateness at which the timer loop fired it (store/timers.ts).
  it('observes each ended delay in the lateness histogram and counts it as a completed delay step', async () => {
    db = await openTestDb(engine);
    await migrate(db);
    const { registry, metrics } = createMetricsRegistry({ db, clock: new ManualClock('2026-03-01T12:00:00Z'), onError: (err) => { throw err; } });
    metrics.runEvents([
      { event: 'step_completed', step_type: 'delay', data: { late_ms: 3000 } },
      { event: 'step_completed', step_type: 'delay', data: { late_ms: 120 } },
      { event: 'step_completed', step_type: 'delay', data: { late_ms: 40_000 } },
    ]);
    const m = parse(await registry.metrics());
    expect(m.get('herald_steps_total{outcome="completed",type="delay"}')).toBe(3);
    expect(m.get('herald_delay_lateness_seconds_count')).toBe(3);
    expect(m.get('herald_delay_lateness_seconds_sum')).toBeCloseTo(43.12, 6);
    expect(m.get('herald_delay_lateness_seconds_bucket{le="0.1"}')).toBe(0);
    expect(m.get('herald_delay_lateness_seconds_bucket{le="0.25"}')).toBe(1);
    expect(m.get('herald_delay_lateness_seconds_bucket{le="5"}')).toBe(2);
    expect(m.get('herald_delay_lateness_seconds_bucket{le="60"}')).toBe(3);
  });
});

describe.each(engines)('metrics settings (%s)', (engine) => {
  let herald: Herald | undefined;
  let db: Db | undefined;
  afterEach(async () => {
    await herald?.close();
    await db?.close();
    herald = undefined;
  });

  async function startWith(metrics: MetricsOptions): Promise<{ api: string; secret: string }> {
    db = await openTestDb(engine);
    herald = await createHerald({ db, clock: new ManualClock('2026-03-01T12:00:00Z'), logger: pino({ level: 'silent' }), workflowsDir: writeWorkflowsDir([notify]), metrics });
    await herald.app.listen({ port: 0, host: '127.0.0.1' });
    const address = herald.app.server.address();
    return { api: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, secret: herald.keys.secret };
  }

  it('HERALD_METRICS=off: /metrics is not there (404)', async () => {
    const { api, secret } = await startWith({ enabled: false });
    const s = await scrape(api, { authorization: `Bearer ${secret}` });
    expect(s.status).toBe(404);
    expect(JSON.parse(s.text).code).toBe('resource_missing');
  });

  it('on a port of its own: served there behind its token, and not on the API port', async () => {
    const { api, secret } = await startWith({ enabled: true, port: 0, host: '127.0.0.1', token: 'scrape-token' });
    expect((await scrape(api, { authorization: `Bearer ${secret}` })).status).toBe(404);
    const address = herald!.metricsServer!.server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    expect((await scrape(url, {})).status).toBe(401);
    expect((await scrape(url, { authorization: `Bearer ${secret}` })).status).toBe(401);
    const ok = await scrape(url, { authorization: 'Bearer scrape-token' });
    expect(ok.status).toBe(200);
    expect(ok.samples.get('herald_due_runs')).toBe(0);
    expect((await fetch(`${url}/v1/users`)).status).toBe(404);
  });
});
