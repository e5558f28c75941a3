import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';
import { feedTexts, runDetail, runsOf } from '../support/runs.js';

const throttled = {
  key: 'alerts',
  name: 'Alerts',
  steps: [
    { ref: 'gate', type: 'throttle', settings: { throttle_window: { unit: 'hours', value: 1 }, throttle_limit: 2, throttle_key: 'service' } },
    { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: '{{ data.service }} alert {{ data.n }}' } },
  ],
};

describe.each(engines)('throttle steps (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows: [throttled] }); });
  afterEach(async () => { await t.close(); });

  const fire = (service: string, n: number, user = 'ada') => t.knock.workflows.trigger('alerts', { recipients: [user], data: { service, n } });

  it('lets throttle_limit executions through per window and halts the rest with reason "throttled"', async () => {
    for (let n = 1; n <= 4; n++) {
      await fire('db', n);
      await t.drain();
    }
    expect((await feedTexts(t, 'ada')).sort()).toEqual(['db alert 1', 'db alert 2']);
    const details = await Promise.all((await runsOf(t, 'alerts')).map((r) => runDetail(t, r.id)));
    const halts = details.flatMap((d) => d.events.filter((e) => e.event === 'run_halted'));
    expect(halts).toHaveLength(2);
    for (const h of halts) expect(h.data).toMatchObject({ reason: 'throttled', throttle_key: 'db', limit: 2 });
  });

  it('counts per recipient and per throttle key, and opens a new window after the old one closes', async () => {
    await fire('db', 1);
    await fire('db', 2);
    await fire('db', 3);
    await fire('web', 1);
    await fire('db', 1, 'bob');
    await t.drain();
    expect((await feedTexts(t, 'ada')).length).toBe(3);
    expect((await feedTexts(t, 'bob')).length).toBe(1);
    await t.clock.advance(61 * 60_000);
    await fire('db', 4);
    await t.drain();
    expect(await feedTexts(t, 'ada')).toContain('db alert 4');
  });

  it('never exceeds the limit when many triggers for one key arrive at once', async () => {
    await Promise.all(Array.from({ length: 30 }, (_, n) => fire('db', n)));
    await Promise.all([t.drain(), t.herald.worker.drain(), t.herald.worker.drain()]);
    await t.drain();
    expect(await feedTexts(t, 'ada')).toHaveLength(2);
    const runs = await runsOf(t, 'alerts');
    expect(runs.every((r) => r.status === 'completed')).toBe(true);
  });
});
