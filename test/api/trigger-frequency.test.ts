import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { feedTexts, runDetail } from '../support/runs.js';

const feed = { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Welcome {{ data.n }}{% if tenant %} to {{ tenant.id }}{% endif %}' } };

const welcome = { key: 'welcome', name: 'Welcome', trigger_frequency: 'once_per_recipient', steps: [feed] };
const tenantWelcome = { key: 'tenant-welcome', name: 'Tenant welcome', trigger_frequency: 'once_per_recipient_per_tenant', steps: [feed] };
const everyTime = { key: 'every-time', name: 'Every time', steps: [feed] };
const proWelcome = {
  key: 'pro-welcome',
  name: 'Pro welcome',
  trigger_frequency: 'once_per_recipient',
  conditions: { all: [{ variable: 'data.plan', operator: 'equal_to', argument: 'pro' }] },
  steps: [feed],
};
const slowWelcome = {
  key: 'slow-welcome',
  name: 'Slow welcome',
  trigger_frequency: 'once_per_recipient',
  steps: [{ ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'hours', value: 1 } } }, feed],
};

async function runsFor(t: TestHerald, workflow: string, user: string) {
  const items: { id: string }[] = (await http(t, 'GET', `/v1/workflow_recipient_runs?workflow=${workflow}&recipient=${user}`)).body.items;
  return Promise.all(items.map((r) => runDetail(t, r.id)));
}

const haltReasons = (runs: Awaited<ReturnType<typeof runsFor>>) =>
  runs.flatMap((r) => r.events.filter((e) => e.event === 'run_halted').map((e) => e.data?.reason));

describe.each(engines)('workflow trigger_frequency (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows: [welcome, tenantWelcome, everyTime, proWelcome, slowWelcome] }); });
  afterEach(async () => { await t.close(); });

  it('once_per_recipient: later triggers for that recipient are a no-op, others still get theirs', async () => {
    for (const n of [1, 2, 3]) {
      await t.knock.workflows.trigger('welcome', { recipients: ['ada'], data: { n } });
      await t.drain();
    }
    await t.knock.workflows.trigger('welcome', { recipients: ['bob'], data: { n: 4 } });
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['Welcome 1']);
    expect(await feedTexts(t, 'bob')).toEqual(['Welcome 4']);
    expect(haltReasons(await runsFor(t, 'welcome', 'ada'))).toEqual([
      'trigger_frequency: already triggered for this recipient',
      'trigger_frequency: already triggered for this recipient',
    ]);
  });

  it('once_per_recipient_per_tenant: once per (recipient, tenant), and once without a tenant', async () => {
    for (const tenant of ['acme', 'globex', 'acme', undefined, undefined]) {
      await t.knock.workflows.trigger('tenant-welcome', { recipients: ['ada'], tenant, data: { n: 1 } });
      await t.drain();
    }
    expect((await feedTexts(t, 'ada')).sort()).toEqual(['Welcome 1', 'Welcome 1 to acme', 'Welcome 1 to globex']);
  });

  it('every_trigger (the default) runs every time', async () => {
    await t.knock.workflows.trigger('every-time', { recipients: ['ada'], data: { n: 1 } });
    await t.drain();
    await t.knock.workflows.trigger('every-time', { recipients: ['ada'], data: { n: 2 } });
    await t.drain();
    expect(await feedTexts(t, 'ada')).toHaveLength(2);
  });

  it('a run stopped by the trigger conditions does not use up the recipient\'s one run', async () => {
    for (const [n, plan] of [[1, 'free'], [2, 'pro'], [3, 'pro']] as const) {
      await t.knock.workflows.trigger('pro-welcome', { recipients: ['ada'], data: { n, plan } });
      await t.drain();
    }
    expect(await feedTexts(t, 'ada')).toEqual(['Welcome 2']);
  });

  it('concurrent triggers for one recipient, advanced by several workers at once, produce exactly one message', async () => {
    await Promise.all(Array.from({ length: 25 }, (_, n) => t.knock.workflows.trigger('welcome', { recipients: ['ada'], data: { n } })));
    await Promise.all([t.drain(), t.herald.worker.drain(), t.herald.worker.drain()]);
    await t.drain();
    expect(await feedTexts(t, 'ada')).toHaveLength(1);
    const runs = await runsFor(t, 'welcome', 'ada');
    expect(runs).toHaveLength(25);
    expect(runs.every((r) => r.status === 'completed')).toBe(true);
    expect(haltReasons(runs)).toHaveLength(24);
  });

  it('the run that owns the marker is not halted when it starts over (a start whose checkpoint was lost)', async () => {
    await t.knock.workflows.trigger('slow-welcome', { recipients: ['ada'], data: { n: 1 } });
    await t.drain();
    // Put the run back to before its first checkpoint, as if the worker had died: the marker stays.
    await t.db.query(`UPDATE recipient_runs SET status = 'queued', position = 0, state = '{}', wake_at = $1`, [t.clock.now()]);
    await t.drain();
    t.clock.advance(3_600_000);
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['Welcome 1']);
    expect(haltReasons(await runsFor(t, 'slow-welcome', 'ada'))).toEqual([]);
  });
});
