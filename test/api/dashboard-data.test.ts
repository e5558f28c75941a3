/**
 * The dashboard's read endpoints after a known workload, read with a dashboard session: the
 * overview's figures, workflows, runs (a run skipped by preferences shows the explanation; a
 * cancelled run is found by its cancellation key; one run cancelled from the dashboard), an
 * email message's rendered HTML and delivery log with secrets redacted, the explain box and
 * channels without secrets.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';
import { FakePostmark } from '../support/providers/email-servers.js';
import { asDashboard, raw, signIn } from './dashboard-helpers.js';

const POSTMARK_TOKEN = 'pm-server-token-dashboard-7c1d';
const FETCH_TOKEN = 'fetch-bearer-token-91ab3f';
const FETCH_KEY = 'static-api-key-55e0c2';

const workflows = [
  {
    key: 'alerts', name: 'Alerts', categories: ['ops'],
    trigger_data_json_schema: { type: 'object', properties: { level: { type: 'string' } } },
    steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Alert {{ data.level }}' } }],
  },
  {
    key: 'welcome-email', name: 'Welcome email',
    steps: [{ ref: 'email', type: 'channel', channel_key: 'postmark', template: { subject: 'Welcome, {{ recipient.name }}', html_body: '<h1>Hello <b>{{ recipient.name }}</b></h1>', text_body: 'Hello {{ recipient.name }}' } }],
  },
  {
    key: 'enrich', name: 'Enrich',
    steps: [
      {
        ref: 'profile', type: 'http_fetch',
        settings: {
          url: '{{ data.base }}/profiles/{{ recipient.id }}',
          query_params: [{ key: 'token', value: '{{ data.token }}' }],
          headers: [{ key: 'Authorization', value: 'Bearer {{ data.token }}' }, { key: 'X-Api-Key', value: FETCH_KEY }],
        },
      },
      { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Score {{ data.score }}' } },
    ],
  },
  {
    key: 'broken-fetch', name: 'Broken fetch',
    steps: [{ ref: 'lookup', type: 'http_fetch', settings: { url: '{{ data.base }}/missing' } }],
  },
  {
    key: 'bad-email', name: 'Bad email',
    steps: [{ ref: 'email', type: 'channel', channel_key: 'postmark-bad', template: { subject: 'Hi', text_body: 'Hi' } }],
  },
  {
    key: 'reminder', name: 'Reminder',
    steps: [
      { ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'hours', value: 1 } } },
      {
        ref: 'which', type: 'branch', branches: [
          { name: 'vip', conditions: { all: [{ variable: 'data.vip', operator: 'equal_to', argument: true }] }, steps: [{ ref: 'vip_feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'VIP' } }] },
          { name: 'default', steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hi' } }] },
        ],
      },
    ],
  },
];

describe.each(engines)('dashboard data endpoints (%s)', { timeout: 180_000 }, (engine) => {
  let t: TestHerald;
  let postmark: FakePostmark;
  let cookie: string;
  let api: Server;
  const get = (path: string) => asDashboard(t, cookie, 'GET', path);

  beforeAll(async () => {
    postmark = await new FakePostmark(POSTMARK_TOKEN, ['outbound']).start();
    api = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/missing') res.statusCode = 404;
      res.end(req.url === '/missing' ? '{}' : '{"score": 7}');
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    t = await startTestHerald(engine, {
      workflows,
      channels: [
        { key: 'postmark', type: 'email', provider: 'postmark', settings: { server_token: POSTMARK_TOKEN, base_url: postmark.url, from: 'Herald <noreply@herald.test>' } },
        { key: 'postmark-bad', type: 'email', provider: 'postmark', settings: { server_token: 'not-the-token', base_url: postmark.url, from: 'Herald <noreply@herald.test>' } },
      ],
      rateLimits: { perKey: 0, perUser: 0 },
    });
    cookie = (await signIn(t, t.secretKey)).cookie!;
    // ada gets alerts; bob turned alerts off; carol is emailed; two reminders wait in their delay.
    await t.knock.users.update('ada', { name: 'Ada' });
    await t.knock.users.update('bob', { name: 'Bob', preferences: { default: { workflows: { alerts: false } } } } as any);
    await t.knock.users.update('carol', { name: 'Carol', email: 'carol@example.com' } as any);
    await t.knock.workflows.trigger('alerts', { recipients: ['ada', 'bob'], data: { level: 'high' } });
    await t.knock.workflows.trigger('welcome-email', { recipients: ['carol'] });
    await t.knock.workflows.trigger('enrich', { recipients: ['ada'], data: { base: `http://127.0.0.1:${(api.address() as AddressInfo).port}`, token: FETCH_TOKEN } });
    const base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    await t.knock.workflows.trigger('broken-fetch', { recipients: ['ada'], data: { base } });
    await t.knock.workflows.trigger('bad-email', { recipients: ['carol'] });
    await t.knock.workflows.trigger('reminder', { recipients: ['ada'], cancellation_key: 'order-1' });
    await t.knock.workflows.trigger('reminder', { recipients: ['bob'], cancellation_key: 'order-2' });
    await t.drain();
    await t.knock.workflows.cancel('reminder', { cancellation_key: 'order-1' });
  });
  afterAll(async () => {
    await t?.close();
    await postmark?.close();
    api?.close();
  });

  it('overview: triggers per minute, runs waiting, deliveries by channel and provider', async () => {
    const res = await get('/dashboard/api/overview');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const o = res.body;
    expect(o.triggers_per_minute).toHaveLength(60);
    expect(o.triggers_per_minute.reduce((n: number, m: { count: number }) => n + m.count, 0)).toBe(7);
    expect(o.triggers_per_minute[59].minute).toBe('2026-03-01T12:00:00.000Z');
    expect(o.runs).toMatchObject({ queued: 0, processing: 0, paused: 1, due: 0, oldest_due_age_ms: 0 });
    expect(o.deliveries_last_hour).toEqual(expect.arrayContaining([
      { channel_type: 'in_app_feed', provider: 'knock_in_app', status: 'delivered', count: 2 },
      { channel_type: 'email', provider: 'postmark', status: 'sent', count: 1 },
    ]));
    expect(o.circuits).toEqual([]);
    expect(o.failures_last_hour).toEqual(expect.arrayContaining([
      { kind: 'step', workflow: 'broken-fetch', reason: 'http_fetch failed: the server answered 404', count: 1, last_at: '2026-03-01T12:00:00.000Z' },
      { kind: 'delivery', workflow: 'bad-email', channel_key: 'postmark-bad', reason: 'undelivered', count: 1, last_at: '2026-03-01T12:00:00.000Z' },
    ]));
  });

  it('overview stream: an overview event at once', async () => {
    const controller = new AbortController();
    const res = await fetch(`${t.url}/dashboard/api/overview/stream`, { headers: { cookie }, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('\n\n', text.indexOf('data:'))) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(text).toContain('event: overview');
    const data = JSON.parse(text.slice(text.indexOf('data: ') + 6, text.indexOf('\n', text.indexOf('data: '))));
    expect(data.runs.paused).toBe(1);
  });

  it('workflows: the list with last trigger, and one workflow with nested branches and versions', async () => {
    const list = await get('/dashboard/api/workflows');
    expect(list.status).toBe(200);
    const alerts = list.body.items.find((w: { key: string }) => w.key === 'alerts');
    expect(alerts).toMatchObject({ name: 'Alerts', active: true, categories: ['ops'], steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed' }], last_triggered_at: '2026-03-01T12:00:00.000Z' });
    expect(alerts.trigger_data_schema).toMatchObject({ properties: { level: { type: 'string' } } });
    const one = await get('/dashboard/api/workflows/reminder');
    expect(one.status).toBe(200);
    expect(one.body.steps[1]).toMatchObject({ ref: 'which', type: 'branch', branches: [{ name: 'vip', steps: [{ ref: 'vip_feed' }] }, { name: 'default', steps: [{ ref: 'feed' }] }] });
    expect(one.body.versions).toEqual([{ sha: one.body.sha, created_at: expect.any(String) }]);
    expect((await get('/dashboard/api/workflows/nope')).status).toBe(404);
  });

  it('a run skipped by preferences shows the explanation on its timeline', async () => {
    const runs = await get('/dashboard/api/runs?workflow=alerts&recipient=bob');
    expect(runs.body.items).toHaveLength(1);
    const detail = await get(`/dashboard/api/runs/${runs.body.items[0].id}`);
    expect(detail.status).toBe(200);
    const skipped = detail.body.timeline.find((e: { type: string }) => e.type === 'step_skipped');
    expect(skipped).toMatchObject({ step_ref: 'feed', step_type: 'channel', outcome: 'ok' });
    expect(skipped.reason).toMatch(/alerts/);
    expect(detail.body.preference_explanations).toEqual([
      expect.objectContaining({ step_ref: 'feed', channel_key: 'in-app-feed', allowed: false, explanation: expect.objectContaining({ decided_by: expect.objectContaining({ key: 'workflows.alerts' }) }) }),
    ]);
    expect(detail.body.messages).toEqual([]);
    // ada's run created its message and was allowed.
    const ada = (await get('/dashboard/api/runs?workflow=alerts&recipient=ada')).body.items[0];
    const adaDetail = (await get(`/dashboard/api/runs/${ada.id}`)).body;
    expect(adaDetail.messages).toEqual([expect.objectContaining({ channel_key: 'in-app-feed', channel_type: 'in_app_feed', status: 'delivered', recipient: 'ada' })]);
    expect(adaDetail.preference_explanations).toEqual([expect.objectContaining({ step_ref: 'feed', allowed: true })]);
  });

  it('a cancelled run is found by its cancellation key; another is cancelled from the dashboard', async () => {
    const byKey = await get('/dashboard/api/runs?cancellation_key=order-1');
    expect(byKey.body.items).toEqual([expect.objectContaining({ workflow: 'reminder', recipient: 'ada', status: 'cancelled', cancellation_key: 'order-1' })]);
    const timeline = (await get(`/dashboard/api/runs/${byKey.body.items[0].id}`)).body.timeline;
    expect(timeline.at(-1)).toMatchObject({ type: 'run_cancelled', detail: { cancellation_key: 'order-1' } });

    const paused = (await get('/dashboard/api/runs?status=paused')).body.items;
    expect(paused).toEqual([expect.objectContaining({ recipient: 'bob', cancellation_key: 'order-2', wake_at: '2026-03-01T13:00:00.000Z' })]);
    const cancelled = await asDashboard(t, cookie, 'POST', `/dashboard/api/runs/${paused[0].id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.run).toMatchObject({ id: paused[0].id, status: 'cancelled' });
    const again = await asDashboard(t, cookie, 'POST', `/dashboard/api/runs/${paused[0].id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'run_not_cancellable' });
    // The public API agrees, and the delay never fires.
    const run = await raw(t, 'GET', `/v1/workflow_recipient_runs/${paused[0].id}`, { authorization: `Bearer ${t.secretKey}` });
    expect(run.body.status).toBe('cancelled');
    expect((await get('/dashboard/api/runs?status=queued,paused')).body.items).toEqual([]);
    expect((await get('/dashboard/api/runs?status=bogus')).status).toBe(422);
  });

  it('an email message: its rendered HTML, its events and its delivery log with the token redacted', async () => {
    const list = await get('/dashboard/api/messages?channel_type=email&workflow=welcome-email');
    expect(list.body.items).toEqual([expect.objectContaining({ channel_key: 'postmark', channel_type: 'email', provider: 'postmark', recipient: 'carol', workflow: 'welcome-email', status: 'sent' })]);
    const detail = await get(`/dashboard/api/messages/${list.body.items[0].id}`);
    expect(detail.status).toBe(200);
    expect(detail.body.content).toMatchObject({ type: 'email', subject: 'Welcome, Carol', html: '<h1>Hello <b>Carol</b></h1>', text: 'Hello Carol', to: 'carol@example.com' });
    expect(detail.body.events.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['message.sent']));
    expect(detail.body.delivery_logs).toHaveLength(1);
    expect(detail.body.delivery_logs[0].provider).toBe('postmark');
    expect(JSON.stringify(detail.body)).not.toContain(POSTMARK_TOKEN);
    expect(JSON.stringify(detail.body.delivery_logs[0].request)).toMatch(/redacted/i);
    const inApp = await get('/dashboard/api/messages?channel_type=in_app_feed&recipient=ada&workflow=alerts');
    expect(inApp.body.items).toEqual([expect.objectContaining({ workflow: 'alerts', recipient: 'ada', channel_type: 'in_app_feed' })]);
  });

  it('explain: would bob get alerts in the feed now, and why not', async () => {
    const bob = await get('/dashboard/api/explain?recipient=bob&workflow=alerts&channel_key=in-app-feed');
    expect(bob.status).toBe(200);
    expect(bob.body).toMatchObject({ recipient: 'bob', workflow: 'alerts', would_send: false, channels: [{ step_ref: 'feed', channel_key: 'in-app-feed', channel_type: 'in_app_feed', would_send: false }] });
    expect(bob.body.channels[0].reason).toMatch(/preferences/);
    const ada = await get('/dashboard/api/explain?recipient=ada&workflow=alerts');
    expect(ada.body).toMatchObject({ would_send: true, channels: [{ would_send: true, reason: null }] });
  });

  it('channels: provider and settings without secrets, circuit state', async () => {
    const res = await get('/dashboard/api/channels');
    expect(res.status).toBe(200);
    const pm = res.body.items.find((c: { key: string }) => c.key === 'postmark');
    expect(pm).toMatchObject({ type: 'email', provider: 'postmark', settings: { from: 'Herald <noreply@herald.test>' }, circuits: [{ provider: 'postmark', state: 'closed', consecutive_failures: 0 }] });
    expect(JSON.stringify(res.body)).not.toContain(POSTMARK_TOKEN);
    expect(pm.settings.server_token).not.toBe(POSTMARK_TOKEN);
  });

  it('a fetch step: its request and response on the run page, credentials nowhere', async () => {
    const run = (await get('/dashboard/api/runs?workflow=enrich')).body.items[0];
    const detail = await get(`/dashboard/api/runs/${run.id}`);
    expect(detail.body.fetches).toEqual([{ step_ref: 'profile', request: { method: 'GET', url: expect.stringMatching(/\/profiles\/ada$/), attempt: 1 }, response: expect.objectContaining({ status: 200 }) }]);
    expect(detail.body.run.data.token).toBe('[redacted]');
    expect(JSON.stringify(detail.body)).not.toContain(FETCH_TOKEN);
    const workflow = await get('/dashboard/api/workflows/enrich');
    expect(JSON.stringify(workflow.body)).not.toContain(FETCH_KEY);
    expect(workflow.body.steps[0].settings.headers).toEqual([{ key: 'Authorization', value: '[redacted]' }, { key: 'X-Api-Key', value: '[redacted]' }]);
    // A fetch that failed halts the run: the list says why, the run page shows the answer.
    const broken = (await get('/dashboard/api/runs?workflow=broken-fetch')).body.items[0];
    expect(broken).toMatchObject({ status: 'completed', halt_reason: 'http_fetch failed: the server answered 404', error_count: 1 });
    const brokenDetail = (await get(`/dashboard/api/runs/${broken.id}`)).body;
    expect(brokenDetail.fetches).toEqual([expect.objectContaining({ step_ref: 'lookup', response: expect.objectContaining({ status: 404 }) })]);
    expect(brokenDetail.timeline).toContainEqual(expect.objectContaining({ type: 'run_halted', step_ref: 'lookup', outcome: 'error', reason: 'http_fetch failed: the server answered 404' }));
  });

  it('the secret key reads the same endpoints; no credential reads nothing', async () => {
    expect((await raw(t, 'GET', '/dashboard/api/overview', { authorization: `Bearer ${t.secretKey}` })).status).toBe(200);
    expect((await raw(t, 'GET', '/dashboard/api/overview', {})).status).toBe(401);
  });
});
