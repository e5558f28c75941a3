import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { feedTexts, runDetail } from '../support/runs.js';

// The test clock starts on Sunday 2026-03-01 at 12:00Z (07:00 in New York).
const workingHours = [
  ...['monday', 'tuesday', 'wednesday', 'thursday', 'friday'].map((day) => ({ day, type: 'send', from: '09:00:00', until: '17:00:00' })),
  { day: 'saturday', type: 'do_not_send' },
  { day: 'sunday', type: 'do_not_send' },
];

const officeHours = {
  key: 'office-hours',
  name: 'Office hours',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', send_windows: workingHours, template: { markdown_body: 'Report for {{ recipient.id }}: {{ data.n }}' } }],
};

async function runFor(t: TestHerald, user: string) {
  const [run] = (await http(t, 'GET', `/v1/workflow_recipient_runs?workflow=office-hours&recipient=${user}`)).body.items;
  return runDetail(t, run.id);
}

describe.each(engines)('channel step send windows (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows: [officeHours] }); });
  afterEach(async () => { await t.close(); });

  it('holds the message outside the window and creates it when the window opens, in the recipient\'s timezone', async () => {
    await t.knock.users.update('ada', { timezone: 'America/New_York' });
    await t.knock.workflows.trigger('office-hours', { recipients: ['ada'], data: { n: 1 } });
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual([]);
    const paused = await runFor(t, 'ada');
    expect(paused.status).toBe('paused');
    expect(paused.events.at(-1)).toMatchObject({ event: 'step_started', step_ref: 'feed', data: { send_window_opens_at: '2026-03-02T14:00:00.000Z', timezone: 'America/New_York' } });

    t.clock.set(new Date('2026-03-02T13:59:59Z'));
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual([]);

    t.clock.set(new Date('2026-03-02T14:00:00Z'));
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['Report for ada: 1']);
    const [message] = (await t.knock.users.listMessages('ada')).items;
    expect(message.inserted_at).toBe('2026-03-02T14:00:00.000Z');
    expect((await runFor(t, 'ada')).status).toBe('completed');
  });

  it('falls back to the tenant\'s timezone, then UTC', async () => {
    await http(t, 'PUT', '/v1/tenants/tokyo', { name: 'Tokyo office', settings: { timezone: 'Asia/Tokyo' } });
    await t.knock.workflows.trigger('office-hours', { recipients: ['ada'], tenant: 'tokyo', data: { n: 1 } });
    await t.knock.workflows.trigger('office-hours', { recipients: ['bob'], data: { n: 2 } });
    await t.drain();
    // Monday 09:00 in Tokyo is Monday 00:00Z; in UTC it is 09:00Z.
    t.clock.set(new Date('2026-03-02T00:00:00Z'));
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['Report for ada: 1']);
    expect(await feedTexts(t, 'bob')).toEqual([]);
    t.clock.set(new Date('2026-03-02T09:00:00Z'));
    await t.drain();
    expect(await feedTexts(t, 'bob')).toEqual(['Report for bob: 2']);
  });

  it('sends at once inside a window', async () => {
    t.clock.set(new Date('2026-03-03T10:00:00Z')); // Tuesday 10:00 UTC
    await t.knock.workflows.trigger('office-hours', { recipients: ['ada'], data: { n: 3 } });
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['Report for ada: 3']);
  });

  it('a run waiting for its window can be cancelled, and then never sends', async () => {
    await t.knock.workflows.trigger('office-hours', { recipients: ['ada'], data: { n: 4 }, cancellation_key: 'report-4' });
    await t.drain();
    await t.knock.workflows.cancel('office-hours', { cancellation_key: 'report-4' });
    t.clock.set(new Date('2026-03-02T12:00:00Z'));
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual([]);
    expect((await runFor(t, 'ada')).status).toBe('cancelled');
  });

  it('skips an opted-out recipient at once instead of waiting for the window (preferences come first)', async () => {
    await t.knock.users.setPreferences('ada', 'default', { channel_types: { in_app_feed: false } });
    await t.knock.workflows.trigger('office-hours', { recipients: ['ada'], data: { n: 5 } });
    await t.drain();
    const run = await runFor(t, 'ada');
    expect(run.status).toBe('completed');
    expect(run.events.find((e) => e.event === 'step_skipped')?.step_ref).toBe('feed');
  });
});
