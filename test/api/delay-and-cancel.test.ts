import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { fireDueDelays } from '../../src/store/timers.js';

const feedStep = (ref: string) => ({ ref, type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Reminder for {{ recipient.id }}' } });

const reminder = {
  key: 'reminder',
  name: 'Reminder',
  steps: [{ ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'minutes', value: 10 } } }, feedStep('feed')],
};
const dynamic = {
  key: 'dynamic',
  name: 'Dynamic delay',
  steps: [{ ref: 'wait', type: 'delay', settings: { delay_until_field_path: 'data.remind_at' } }, feedStep('feed')],
};
const relative = {
  key: 'relative',
  name: 'Relative delay',
  steps: [{ ref: 'wait', type: 'delay', settings: { delay_until_field_path: 'data.due_at', delay_for: { unit: 'hours', value: -1 } } }, feedStep('feed')],
};

const MIN = 60_000;

async function messagesFor(t: TestHerald, user: string) {
  return (await t.knock.users.listMessages(user)).items;
}

async function runOf(t: TestHerald, user: string) {
  const list = await http(t, 'GET', `/v1/workflow_recipient_runs?recipient=${user}`);
  return (await http(t, 'GET', `/v1/workflow_recipient_runs/${list.body.items[0].id}`)).body;
}

describe.each(engines)('delays (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows: [reminder, dynamic, relative] }); });
  afterEach(async () => { await t.close(); });

  it('pauses the run for delay_for and sends when the time has come', async () => {
    await t.knock.workflows.trigger('reminder', { recipients: ['ada'] });
    await t.drain();
    expect(await messagesFor(t, 'ada')).toHaveLength(0);
    expect((await runOf(t, 'ada')).status).toBe('paused');
    t.clock.advance(9 * MIN);
    await t.drain();
    expect(await messagesFor(t, 'ada')).toHaveLength(0);
    t.clock.advance(1 * MIN);
    await t.drain();
    expect(await messagesFor(t, 'ada')).toHaveLength(1);
    const run = await runOf(t, 'ada');
    expect(run.status).toBe('completed');
    expect(run.events.map((e: any) => `${e.event}:${e.step_ref ?? ''}`)).toEqual([
      'run_started:', 'step_started:wait', 'step_completed:wait', 'step_started:feed', 'step_completed:feed', 'run_completed:',
    ]);
  });

  it('waits until an ISO timestamp found at delay_until_field_path', async () => {
    const at = new Date(t.clock.now().getTime() + 30 * MIN).toISOString();
    await t.knock.workflows.trigger('dynamic', { recipients: ['ada'], data: { remind_at: at } });
    await t.drain();
    t.clock.advance(29 * MIN);
    await t.drain();
    expect(await messagesFor(t, 'ada')).toHaveLength(0);
    t.clock.advance(MIN);
    await t.drain();
    expect(await messagesFor(t, 'ada')).toHaveLength(1);
  });

  it('accepts a duration object at delay_until_field_path', async () => {
    await t.knock.workflows.trigger('dynamic', { recipients: ['ada'], data: { remind_at: { unit: 'minutes', value: 5 } } });
    await t.drain();
    expect((await runOf(t, 'ada')).status).toBe('paused');
    t.clock.advance(5 * MIN);
    await t.drain();
    expect(await messagesFor(t, 'ada')).toHaveLength(1);
  });

  it('applies delay_for as an offset from the resolved timestamp (one hour before)', async () => {
    const due = new Date(t.clock.now().getTime() + 3 * 60 * MIN).toISOString();
    await t.knock.workflows.trigger('relative', { recipients: ['ada'], data: { due_at: due } });
    await t.drain();
    t.clock.advance(2 * 60 * MIN - 1000);
    await t.drain();
    expect(await messagesFor(t, 'ada')).toHaveLength(0);
    t.clock.advance(1000);
    await t.drain();
    expect(await messagesFor(t, 'ada')).toHaveLength(1);
  });

  it('skips a delay whose field is missing, recording the reason, and goes on', async () => {
    await t.knock.workflows.trigger('dynamic', { recipients: ['ada'], data: {} });
    await t.drain();
    expect(await messagesFor(t, 'ada')).toHaveLength(1);
    const skipped = (await runOf(t, 'ada')).events.find((e: any) => e.event === 'step_skipped');
    expect(skipped.step_ref).toBe('wait');
    expect(skipped.data.reason).toContain('data.remind_at');
  });

  it('writes a run whose workflow starts with a fixed delay already paused, with its first events', async () => {
    await t.knock.workflows.trigger('reminder', { recipients: ['ada'] });
    // No worker has advanced anything yet: the trigger itself wrote the paused run.
    const run = await runOf(t, 'ada');
    expect(run.status).toBe('paused');
    expect(run.events.map((e: any) => [e.event, e.step_ref, e.data])).toEqual([
      ['run_started', null, null],
      ['step_started', 'wait', { delayed_until: new Date(t.clock.now().getTime() + 10 * MIN).toISOString() }],
    ]);
  });

  it("fires a delay on time without a drain: the running worker's timer loop records late_ms 0", async () => {
    await t.knock.workflows.trigger('reminder', { recipients: ['ada'] });
    t.herald.worker.start();
    try {
      t.clock.advance(10 * MIN);
      for (let i = 0; i < 200 && (await messagesFor(t, 'ada')).length === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(await messagesFor(t, 'ada')).toHaveLength(1);
    } finally {
      await t.herald.worker.stop();
    }
    const completed = (await runOf(t, 'ada')).events.find((e: any) => e.event === 'step_completed' && e.step_ref === 'wait');
    expect(completed.data).toEqual({ delayed_until: new Date(t.clock.now().getTime()).toISOString(), late_ms: 0 });
  });

  it('records the lateness at which the timer fired the delay, not when a worker later advanced the run', async () => {
    await t.knock.workflows.trigger('reminder', { recipients: ['ada'] });
    t.clock.advance(10 * MIN + 250);
    // The timer loop fires the delay 250 ms after its end; the run is queued, not yet advanced.
    expect((await fireDueDelays(t.db, t.clock.now(), 100)).fired).toBe(1);
    const fired = await runOf(t, 'ada');
    expect(fired.status).toBe('queued');
    expect(fired.events.some((e: any) => e.event === 'step_completed')).toBe(false);
    // A backlog holds the worker up for a minute before it claims the run.
    t.clock.advance(MIN);
    await t.drain();
    expect(await messagesFor(t, 'ada')).toHaveLength(1);
    const events = (await runOf(t, 'ada')).events;
    const completed = events.filter((e: any) => e.event === 'step_completed' && e.step_ref === 'wait');
    expect(completed).toHaveLength(1);
    expect(completed[0].data).toEqual({ delayed_until: new Date(t.clock.now().getTime() - MIN - 250).toISOString(), late_ms: 250 });
    // The delay's end comes before the step that followed it.
    const feedAt = events.findIndex((e: any) => e.step_ref === 'feed');
    expect(feedAt).toBeGreaterThan(events.indexOf(completed[0]));
    expect(events.at(-1).event).toBe('run_completed');
  });

  it('bypasses every delay when the trigger sets settings.skip_delay', async () => {
    await t.knock.workflows.trigger('reminder', { recipients: ['ada'], settings: { skip_delay: true } } as any);
    await t.drain();
    expect(await messagesFor(t, 'ada')).toHaveLength(1);
  });
});

describe.each(engines)('cancellation (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows: [reminder] }); });
  afterEach(async () => { await t.close(); });

  it('cancels paused runs synchronously: 204, a count header, and no message afterwards', async () => {
    await t.knock.workflows.trigger('reminder', { recipients: ['ada', 'bob'], cancellation_key: 'order-1' });
    await t.drain();
    const res = await http(t, 'POST', '/v1/workflows/reminder/cancel', { cancellation_key: 'order-1' });
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    expect(res.headers.get('x-herald-cancelled-runs')).toBe('2');
    t.clock.advance(60 * MIN);
    await t.drain();
    expect(await messagesFor(t, 'ada')).toHaveLength(0);
    expect(await messagesFor(t, 'bob')).toHaveLength(0);
    expect((await runOf(t, 'ada')).status).toBe('cancelled');
  });

  it('works through the official SDK, which expects an empty 204', async () => {
    await t.knock.workflows.trigger('reminder', { recipients: ['ada'], cancellation_key: 'k' });
    // The SDK resolves a void call to an empty value; any other status would reject.
    expect(await t.knock.workflows.cancel('reminder', { cancellation_key: 'k' })).toBeFalsy();
    expect((await runOf(t, 'ada')).status).toBe('cancelled');
  });

  it('cancels only the listed recipients', async () => {
    await t.knock.workflows.trigger('reminder', { recipients: ['ada', 'bob'], cancellation_key: 'order-2' });
    await t.drain();
    await t.knock.workflows.cancel('reminder', { cancellation_key: 'order-2', recipients: ['bob'] });
    t.clock.advance(10 * MIN);
    await t.drain();
    expect(await messagesFor(t, 'ada')).toHaveLength(1);
    expect(await messagesFor(t, 'bob')).toHaveLength(0);
  });

  it('does not touch a trigger accepted after the cancel', async () => {
    await t.knock.workflows.trigger('reminder', { recipients: ['ada'], cancellation_key: 'k' });
    await t.knock.workflows.cancel('reminder', { cancellation_key: 'k' });
    await t.knock.workflows.trigger('reminder', { recipients: ['ada'], cancellation_key: 'k' });
    await t.drain();
    t.clock.advance(10 * MIN);
    await t.drain();
    expect(await messagesFor(t, 'ada')).toHaveLength(1);
  });

  it('leaves other cancellation keys and finished runs alone', async () => {
    await t.knock.workflows.trigger('reminder', { recipients: ['ada'], cancellation_key: 'a' });
    await t.knock.workflows.trigger('reminder', { recipients: ['bob'], cancellation_key: 'b' });
    const res = await http(t, 'POST', '/v1/workflows/reminder/cancel', { cancellation_key: 'a' });
    expect(res.headers.get('x-herald-cancelled-runs')).toBe('1');
    await t.drain();
    t.clock.advance(10 * MIN);
    await t.drain();
    const again = await http(t, 'POST', '/v1/workflows/reminder/cancel', { cancellation_key: 'b' });
    expect(again.headers.get('x-herald-cancelled-runs')).toBe('0');
    expect(await messagesFor(t, 'bob')).toHaveLength(1);
  });

  it('discards the outcome of a step that was in flight when the cancel landed', async () => {
    await t.knock.workflows.trigger('reminder', { recipients: ['ada'], cancellation_key: 'race', settings: { skip_delay: true } } as any);
    // Claim the run as a worker would, then cancel before its checkpoint commits.
    const worker = t.herald.worker as any;
    const engineAdvance = worker.opts.engine.advanceBatch;
    let cancelled = false;
    worker.opts.engine.advanceBatch = async (runs: any[], owner: string) => {
      await t.knock.workflows.cancel('reminder', { cancellation_key: 'race' });
      cancelled = true;
      return engineAdvance(runs, owner);
    };
    await t.drain();
    worker.opts.engine.advanceBatch = engineAdvance;
    expect(cancelled).toBe(true);
    expect(await messagesFor(t, 'ada')).toHaveLength(0);
    const run = await runOf(t, 'ada');
    expect(run.status).toBe('cancelled');
    expect(run.events.some((e: any) => e.event === 'step_completed')).toBe(false);
  });
});
