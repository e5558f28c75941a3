import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { feedTexts, runDetail, runsOf } from '../support/runs.js';

const HOUR = 3_600_000;
const feed = (body: string) => ({ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: body } });
const waitFor = (settings: Record<string, unknown>) => ({
  ref: 'wait',
  type: 'wait_for_event',
  settings: {
    event: 'payment.completed',
    match_conditions: [{ operator: 'and', conditions: [{ variable: 'data.status', operator: 'equal_to', argument: 'paid' }] }],
    expires_after: { unit: 'hours', value: 1 },
    ...settings,
  },
});

const workflows = [
  // Thank the customer once the payment lands; give up after an hour.
  { key: 'receipt', name: 'Receipt', steps: [waitFor({ on_match: 'continue', on_timeout: 'halt' }), feed('Thanks for paying {{ data.amount }} for {{ data.order }}')] },
  // Nudge the customer only if no payment arrives within the hour.
  { key: 'nudge', name: 'Nudge', steps: [waitFor({ on_match: 'halt', on_timeout: 'continue' }), feed('Your order {{ data.order }} is still unpaid')] },
];

describe.each(engines)('wait_for_event steps (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows }); });
  afterEach(async () => { await t.close(); });

  const deliver = async (body: Record<string, unknown>) => {
    const res = await http(t, 'POST', '/v1/workflow_events', { event: 'payment.completed', ...body });
    expect(res.status).toBe(200);
    return res.body.matched_runs as number;
  };
  const runOf = async (workflow: string, user = 'ada') => {
    const run = (await runsOf(t, workflow)).find((r) => r.recipient === user)!;
    return runDetail(t, run.id);
  };

  it('pauses until a matching event arrives, then continues with the event data merged into data', async () => {
    await t.knock.workflows.trigger('receipt', { recipients: ['ada'], data: { order: 'o-1' } });
    await t.drain();
    expect((await runOf('receipt')).status).toBe('paused');
    expect(await deliver({ recipient: 'ada', data: { status: 'paid', amount: '$42' } })).toBe(1);
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['Thanks for paying $42 for o-1']);
    const [message] = (await t.knock.users.listMessages('ada')).items;
    expect(message.data).toMatchObject({ order: 'o-1', status: 'paid', amount: '$42' });
    const run = await runOf('receipt');
    expect(run.status).toBe('completed');
    expect(run.events.find((e) => e.event === 'step_completed' && e.step_ref === 'wait')?.data).toMatchObject({ event: 'payment.completed', event_data: { status: 'paid', amount: '$42' } });
  });

  it('keeps waiting when the event does not match its conditions or has another name', async () => {
    await t.knock.workflows.trigger('receipt', { recipients: ['ada'], data: { order: 'o-1' } });
    await t.drain();
    expect(await deliver({ recipient: 'ada', data: { status: 'failed' } })).toBe(0);
    expect(await deliver({ event: 'payment.refunded', recipient: 'ada', data: { status: 'paid' } })).toBe(0);
    await t.drain();
    expect((await runOf('receipt')).status).toBe('paused');
    expect(await feedTexts(t, 'ada')).toEqual([]);
    expect(await deliver({ recipient: 'ada', data: { status: 'paid', amount: '$5' } })).toBe(1);
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['Thanks for paying $5 for o-1']);
  });

  it('on expiry applies on_timeout: halt, and an event after the expiry no longer matches', async () => {
    await t.knock.workflows.trigger('receipt', { recipients: ['ada'], data: { order: 'o-1' } });
    await t.drain();
    await t.clock.advance(HOUR);
    expect(await deliver({ recipient: 'ada', data: { status: 'paid' } })).toBe(0);
    await t.drain();
    const run = await runOf('receipt');
    expect(run.status).toBe('completed');
    expect(run.events.find((e) => e.event === 'run_halted')?.data?.reason).toBe('no "payment.completed" event arrived before 2026-03-01T13:00:00.000Z (on_timeout: halt)');
    expect(await feedTexts(t, 'ada')).toEqual([]);
  });

  it('on expiry applies on_timeout: continue', async () => {
    await t.knock.workflows.trigger('nudge', { recipients: ['ada'], data: { order: 'o-2' } });
    await t.drain();
    await t.clock.advance(HOUR - 1);
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual([]);
    await t.clock.advance(1);
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['Your order o-2 is still unpaid']);
  });

  it('on_match: halt stops the run when the event arrives', async () => {
    await t.knock.workflows.trigger('nudge', { recipients: ['ada'], data: { order: 'o-2' } });
    await t.drain();
    expect(await deliver({ recipient: 'ada', data: { status: 'paid' } })).toBe(1);
    await t.drain();
    await t.clock.advance(2 * HOUR);
    await t.drain();
    const run = await runOf('nudge');
    expect(run.status).toBe('completed');
    expect(run.events.find((e) => e.event === 'run_halted')?.data?.reason).toBe('event "payment.completed" received (on_match: halt)');
    expect(await feedTexts(t, 'ada')).toEqual([]);
  });

  it('a waiting run is cancellable: a later event does not wake it', async () => {
    await t.knock.workflows.trigger('receipt', { recipients: ['ada'], data: { order: 'o-3' }, cancellation_key: 'o-3' });
    await t.drain();
    await t.knock.workflows.cancel('receipt', { cancellation_key: 'o-3' });
    expect(await deliver({ recipient: 'ada', data: { status: 'paid' } })).toBe(0);
    await t.clock.advance(2 * HOUR);
    await t.drain();
    expect((await runOf('receipt')).status).toBe('cancelled');
    expect(await feedTexts(t, 'ada')).toEqual([]);
  });

  it('an event for one recipient leaves other recipients waiting; one without a recipient reaches all', async () => {
    await t.knock.workflows.trigger('receipt', { recipients: ['ada', 'bob', 'cyd'], data: { order: 'o-4' } });
    await t.drain();
    expect(await deliver({ recipient: 'bob', data: { status: 'paid', amount: '$1' } })).toBe(1);
    await t.drain();
    expect(await feedTexts(t, 'bob')).toEqual(['Thanks for paying $1 for o-4']);
    expect(await feedTexts(t, 'ada')).toEqual([]);
    expect((await runOf('receipt', 'ada')).status).toBe('paused');
    expect(await deliver({ data: { status: 'paid', amount: '$2' } })).toBe(2);
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['Thanks for paying $2 for o-4']);
    expect(await feedTexts(t, 'cyd')).toEqual(['Thanks for paying $2 for o-4']);
    expect(await feedTexts(t, 'bob')).toHaveLength(1);
  });

  it('an event naming a tenant only reaches runs of that tenant', async () => {
    await t.knock.workflows.trigger('receipt', { recipients: ['ada'], tenant: 'acme', data: { order: 'o-5' } });
    await t.knock.workflows.trigger('receipt', { recipients: ['ada'], tenant: 'globex', data: { order: 'o-6' } });
    await t.drain();
    expect(await deliver({ recipient: 'ada', tenant: 'globex', data: { status: 'paid', amount: '$6' } })).toBe(1);
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['Thanks for paying $6 for o-6']);
  });

  it('the same event delivered many times at once resolves the wait once', async () => {
    await t.knock.workflows.trigger('receipt', { recipients: ['ada'], data: { order: 'o-7' } });
    await t.drain();
    const matched = await Promise.all(Array.from({ length: 10 }, (_, i) => deliver({ recipient: 'ada', data: { status: 'paid', amount: `$${i}` } })));
    expect(matched.reduce((a, b) => a + b, 0)).toBe(1);
    await Promise.all([t.drain(), t.herald.worker.drain()]);
    expect(await feedTexts(t, 'ada')).toHaveLength(1);
    const run = await runOf('receipt');
    expect(run.events.filter((e) => e.event === 'step_completed' && e.step_ref === 'wait')).toHaveLength(1);
  });
});
