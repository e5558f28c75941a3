/**
 * Template abuse (issue 11, items 2 and 4). Templates are user-authored and loop over trigger
 * data, so a template can ask for a range of 10^15 items, nest loops, double a string until it
 * fills memory or capture itself recursively. Herald renders every template in a pool of render
 * processes with liquidjs' time, memory and source limits, a hard timeout and a heap limit
 * (src/templates/render-limits.ts): the process stays up, its event loop keeps answering, and
 * the run halts at once with the reason on its run_halted event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RenderPool } from '../../src/templates/render-pool.js';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { runDetail, runsOf } from '../support/runs.js';

const RANGE = '{% for i in (1..data.n) %}x{% endfor %}';
const NOWHERE = 'http://127.0.0.1:9'; // providers are never reached: the runs halt while rendering

const feed = (ref: string, template: Record<string, unknown>) => ({ ref, type: 'channel', channel_key: 'in-app-feed', template });

/** One workflow per place a template can sit, each rendering RANGE there. */
const placements: Record<string, Record<string, unknown>[]> = {
  feed_body: [feed('feed', { markdown_body: RANGE })],
  feed_action_url: [feed('feed', { markdown_body: 'hi', action_url: `https://x.example/${RANGE}` })],
  feed_button: [feed('feed', { markdown_body: 'hi', action_buttons: [{ label: RANGE, action: '/go' }] })],
  email_subject: [{ ref: 'email', type: 'channel', channel_key: 'mail', template: { subject: RANGE, html_body: '<p>hi</p>' } }],
  sms_body: [{ ref: 'sms', type: 'channel', channel_key: 'text', template: { text_body: RANGE } }],
  webhook_url: [{ ref: 'hook', type: 'channel', channel_key: 'hooks', template: { url: `${NOWHERE}/${RANGE}`, body: '{}' } }],
  fetch_url: [{ ref: 'fetch', type: 'http_fetch', settings: { method: 'get', url: `${NOWHERE}/${RANGE}` } }],
  update_data: [{ ref: 'update', type: 'update_data', settings: { data: `{"x": "${RANGE}"}` } }],
  trigger_workflow: [{ ref: 'chain', type: 'trigger_workflow', settings: { workflow_key: 'plain', recipients: RANGE } }],
  batch_key: [{ ref: 'collect', type: 'batch', settings: { batch_window: { unit: 'seconds', value: 30 }, batch_key: RANGE } }],
};

/** Abusive templates in the feed body, each with the data that makes it abusive. */
const abuses: Record<string, { body: string; data: Record<string, unknown> }> = {
  nested_loops: { body: '{% for i in (1..data.n) %}{% for j in (1..data.n) %}{{ i }}{{ j }}{% endfor %}{% endfor %}', data: { n: 100_000 } },
  append_doubling: { body: '{% assign s = "xxxxxxxx" %}{% for i in (1..data.n) %}{% assign s = s | append: s %}{% endfor %}{{ s }}', data: { n: 60 } },
  range_from_times: { body: '{% assign big = data.n | times: data.n %}{% for i in (1..big) %}x{% endfor %}', data: { n: 1e9 } },
  capture_doubling: { body: '{% capture s %}xxxxxxxx{% endcapture %}{% for i in (1..data.n) %}{% capture s %}{{ s }}{{ s }}{% endcapture %}{% endfor %}{{ s }}', data: { n: 60 } },
  huge_output: { body: '{% for i in (1..data.n) %}{{ data.s }}{% endfor %}', data: { n: 1_000_000, s: 'y'.repeat(1_000) } },
};

const workflows = [
  ...Object.entries(placements).map(([key, steps]) => ({ key: `range_${key}`, name: key, steps })),
  ...Object.entries(abuses).map(([key, { body }]) => ({ key, name: key, steps: [feed('feed', { markdown_body: body })] })),
  { key: 'plain', name: 'Plain', steps: [feed('feed', { markdown_body: 'Hello {{ recipient.id }}' })] },
];

const channels = [
  { key: 'mail', type: 'email', provider: 'postmark', settings: { server_token: 'tok', base_url: NOWHERE, from: 'Herald <noreply@herald.test>' } },
  { key: 'text', type: 'sms', provider: 'twilio', settings: { base_url: NOWHERE, account_sid: 'AC0', auth_token: 'tok', from: '+15005550006' } },
  { key: 'hooks', type: 'http', provider: 'webhook', settings: { allow_private_networks: true } },
] as const;

/** What a halted run says, for the bounds a template can hit. */
const BOUND = /the template (took longer than \d+ ms|allocated more than its memory limit|used more than \d+ MB)|output is longer than [\d,]+ characters/;

async function haltReason(t: TestHerald, workflow: string): Promise<string> {
  const [run] = await runsOf(t, workflow);
  const detail = await runDetail(t, run.id);
  const halted = detail.events.find((e) => e.event === 'run_halted');
  expect(detail.status, `${workflow}'s run`).toBe('completed');
  return String(halted?.data?.reason ?? '(no run_halted event)');
}

describe.each(engines)('template abuse (%s)', (engine) => {
  let t: TestHerald;
  beforeAll(async () => {
    t = await startTestHerald(engine, { workflows, channels: channels as never });
    await t.knock.users.update('ada', { email: 'ada@example.com', phone_number: '+14155550100' } as never);
    // Start the render processes, so the timings below measure renders, not start-up.
    await t.knock.workflows.trigger('plain', { recipients: ['ada'] });
    await t.drain();
  });
  afterAll(async () => { await t.close(); });

  it('a range of 10^15 items halts the run at once, wherever the template sits', async () => {
    for (const key of Object.keys(placements)) await t.knock.workflows.trigger(`range_${key}`, { recipients: ['ada'], data: { n: 1e15 } });
    await t.drain();
    for (const key of Object.keys(placements)) {
      expect(await haltReason(t, `range_${key}`), key).toMatch(/allocated more than its memory limit \(16,000,000 characters or items\)/);
    }
    // Halted on the first attempt: no retry 30 s later.
    const [run] = await runsOf(t, 'range_feed_body');
    expect((await runDetail(t, run.id)).events.filter((e) => e.event === 'step_failed')).toHaveLength(1);
  });

  it.each(Object.keys(abuses))('%s halts the run with the bound it hit', async (key) => {
    await t.knock.workflows.trigger(key, { recipients: ['ada'], data: abuses[key].data });
    await t.drain();
    expect(await haltReason(t, key)).toMatch(BOUND);
  });

  it('the health probe and an ordinary trigger answer while abusive templates render', async () => {
    // Four runs whose renders each use their full time budget: about two seconds of rendering
    // for the pool, which used to block the event loop for all of it.
    for (let i = 0; i < 4; i++) await t.knock.workflows.trigger('nested_loops', { recipients: [`u${i}`], data: abuses.nested_loops.data });
    const started = performance.now();
    const draining = t.drain();
    // Latency is measured from when each request was due, so a blocked loop (which would also
    // delay the timer) counts against it.
    const at = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
    const dueIn = 300;
    await at(dueIn);
    const health = await fetch(`${t.url}/healthz`);
    const healthLatency = performance.now() - started - dueIn;
    expect(health.status).toBe(200);
    const triggerStarted = performance.now();
    const { workflow_run_id: id } = await t.knock.workflows.trigger('plain', { recipients: ['bob'] });
    const triggerLatency = performance.now() - triggerStarted;
    const stillRendering = (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM recipient_runs WHERE workflow_key = 'nested_loops' AND status <> 'completed'`))[0].n;
    await draining;
    expect(id).toBeTruthy();
    expect(stillRendering).toBeGreaterThan(0); // the probes really ran during the renders
    expect(healthLatency).toBeLessThan(1_000);
    expect(triggerLatency).toBeLessThan(1_000);
    const runs = await runsOf(t, 'nested_loops');
    for (const run of runs) {
      const halted = (await runDetail(t, run.id)).events.find((e) => e.event === 'run_halted');
      expect(halted?.data?.reason).toMatch(/the template took longer than 1000 ms|allocated more than its memory limit/);
    }
  });

  it('an ordinary template still renders after all of that', async () => {
    await t.knock.workflows.trigger('plain', { recipients: ['carol'] });
    await t.drain();
    const feedBody = await http(t, 'GET', '/v1/users/carol/feeds/in-app-feed');
    expect(feedBody.body.entries[0].blocks[0].rendered).toContain('Hello carol');
  });
});

describe('a render process that exhausts its heap', () => {
  it('is replaced; the render fails with the reason and the next one succeeds, in a process that is still up', async () => {
    // A 32 MB heap (Herald's is 128 MB) and 1.1 million objects to copy in: the render process
    // runs out of heap. V8 either aborts it (reported as memory) or thrashes until the hard
    // timeout kills it (reported as time); either way only the render process is lost.
    const pool = new RenderPool(1, 3_000, 32);
    try {
      const list = Array.from({ length: 1_100_000 }, (_, i) => ({ a: i % 10 }));
      const failed = await pool.render([{ source: '{{ data.list | size }}' }], { data: { list } }).then(() => null, (err: Error & { limit?: string }) => err);
      expect(failed?.limit).toMatch(/^(memory|time)$/);
      expect(failed?.message).toMatch(/the template (used more than 32 MB|took longer than 3000 ms)/);
      expect(await pool.render([{ source: 'still {{ data.up }}' }], { data: { up: 'here' } })).toEqual([{ ok: true, text: 'still here' }]);
    } finally {
      await pool.close();
    }
  }, 30_000);
});

describe('renders of many runs sent to a render process together', () => {
  it('fail only for the template that overran; the others render as if they had come alone', async () => {
    // One render process and a 0.5 s hard timeout (below liquidjs' 1 s budget, so the process is
    // killed): the waiting requests travel in one message,
    // the hanging one gets that process killed, and every request is then rendered on its own.
    const pool = new RenderPool(1, 500, 64);
    try {
      const hang = '{% for i in (1..1000000000) %}{% for j in (1..1000000000) %}{% endfor %}{% endfor %}';
      const renders = [
        pool.render([{ source: 'a {{ data.n }}' }], { data: { n: 1 } }),
        pool.render([{ source: 'b {{ data.n }}' }], { data: { n: 2 } }),
        pool.render([{ source: hang }], { data: {} }),
        pool.render([{ source: 'c {{ data.n }}' }], { data: { n: 3 } }),
      ];
      const settled = await Promise.allSettled(renders);
      expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : 'rejected'))).toEqual([
        [{ ok: true, text: 'a 1' }],
        [{ ok: true, text: 'b 2' }],
        expect.anything(),
        [{ ok: true, text: 'c 3' }],
      ]);
      // The overrunning template fails, by liquidjs' own budget or by the hard timeout.
      const third = settled[2];
      const failed = third.status === 'rejected' || (third.status === 'fulfilled' && !third.value[0].ok);
      expect(failed).toBe(true);
    } finally {
      await pool.close();
    }
  });
});
