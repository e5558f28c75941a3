import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { feedTexts, runDetail } from '../support/runs.js';

// The test clock starts on Sunday 2026-03-01 at 12:00Z (07:00 in New York, UTC-5 until 2026-03-08).
const feed = (body: string) => ({ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: body } });

const morning = {
  key: 'morning',
  name: 'Next morning',
  steps: [{ ref: 'wait', type: 'delay', settings: { delay_until_field_path: 'data.send_at' } }, feed('Good morning {{ recipient.id }}')],
};
const evening = {
  key: 'evening-digest',
  name: 'Evening digest',
  steps: [{ ref: 'collect', type: 'batch', settings: { batch_until_field_path: 'data.digest_at' } }, feed('{{ total_activities }} updates today')],
};
const daily = {
  key: 'daily-alert',
  name: 'One alert per local day',
  steps: [{ ref: 'gate', type: 'throttle', settings: { throttle_window_field_path: 'data.window', throttle_limit: 1 } }, feed('Alert {{ data.n }}')],
};

const at = (t: TestHerald, iso: string) => t.clock.set(new Date(iso));

async function runOf(t: TestHerald, workflow: string, user: string) {
  const [run] = (await http(t, 'GET', `/v1/workflow_recipient_runs?workflow=${workflow}&recipient=${user}`)).body.items;
  return runDetail(t, run.id);
}

describe.each(engines)('window rules in delay, batch and throttle steps (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => {
    t = await startTestHerald(engine, { workflows: [morning, evening, daily] });
    await t.knock.users.update('ada', { timezone: 'America/New_York' });
  });
  afterEach(async () => { await t.close(); });

  it('a delay waits for the next 09:00 on the recipient\'s wall clock (UTC without a timezone)', async () => {
    await t.knock.workflows.trigger('morning', { recipients: ['ada', 'bob'], data: { send_at: { frequency: 'daily', hours: 9 } } });
    await t.drain();
    at(t, '2026-03-01T13:59:00Z');
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual([]);
    at(t, '2026-03-01T14:00:00Z'); // 09:00 EST, later that same Sunday
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['Good morning ada']);
    expect(await feedTexts(t, 'bob')).toEqual([]); // 09:00Z had passed: bob's is on Monday
    at(t, '2026-03-02T09:00:00Z');
    await t.drain();
    expect(await feedTexts(t, 'bob')).toEqual(['Good morning bob']);
  });

  it('a weekday rule set on a Saturday waits until Monday 09:00, across the DST change', async () => {
    at(t, '2026-03-07T15:00:00Z'); // Saturday 10:00 EST; clocks spring forward on Sunday
    await t.knock.workflows.trigger('morning', { recipients: ['ada'], data: { send_at: { frequency: 'daily', days: 'weekdays', hours: 9 } } });
    await t.drain();
    expect((await runOf(t, 'morning', 'ada')).events.find((e) => e.step_ref === 'wait')?.data).toEqual({ delayed_until: '2026-03-09T13:00:00.000Z' });
    at(t, '2026-03-09T12:59:59Z');
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual([]);
    at(t, '2026-03-09T13:00:00Z'); // Monday 09:00 EDT
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['Good morning ada']);
  });

  it('a batch opened with a window rule flushes at 18:00 local time', async () => {
    const digest = { frequency: 'daily', hours: 18 };
    await t.knock.workflows.trigger('evening-digest', { recipients: ['ada'], data: { digest_at: digest } });
    await t.drain();
    at(t, '2026-03-01T15:00:00Z');
    await t.knock.workflows.trigger('evening-digest', { recipients: ['ada'], data: { digest_at: digest } });
    await t.drain();
    at(t, '2026-03-01T22:59:00Z');
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual([]);
    at(t, '2026-03-01T23:00:00Z'); // 18:00 EST
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['2 updates today']);
  });

  it('a throttle window rule lasts until the next local midnight', async () => {
    const alert = (n: number) => t.knock.workflows.trigger('daily-alert', { recipients: ['ada'], data: { n, window: { frequency: 'daily' } } });
    await alert(1);
    await t.drain();
    at(t, '2026-03-02T04:00:00Z'); // 23:00 on Sunday in New York: still the same local day
    await alert(2);
    await t.drain();
    at(t, '2026-03-02T05:00:00Z'); // Monday 00:00 in New York
    await alert(3);
    await t.drain();
    expect((await feedTexts(t, 'ada')).sort()).toEqual(['Alert 1', 'Alert 3']);
  });

  it('an invalid window rule skips the step with the reason', async () => {
    await t.knock.workflows.trigger('morning', { recipients: ['ada'], data: { send_at: { frequency: 'daily', hours: 9, minutes: 7 } } });
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['Good morning ada']);
    const skipped = (await runOf(t, 'morning', 'ada')).events.find((e) => e.event === 'step_skipped');
    expect(skipped).toMatchObject({ step_ref: 'wait', status: 'error', data: { reason: expect.stringContaining('minutes must be one of 0, 5') } });
  });
});
