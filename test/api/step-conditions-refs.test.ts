import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { feedTexts, runDetail, runsOf } from '../support/runs.js';

const HOUR = 3_600_000;
const inApp = (ref: string, body: string, conditions?: unknown) =>
  ({ ref, type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: body }, ...(conditions ? { conditions } : {}) });

/** Knock's example: follow up only if the first message was not read within the hour. */
const followUp = {
  key: 'follow-up',
  name: 'Follow up if unread',
  steps: [
    inApp('feed', 'You have a new comment'),
    { ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'hours', value: 1 } } },
    inApp('reminder', 'Reminder: you have an unread comment', { all: [{ variable: 'refs.feed.engagement_status', operator: 'not_contains', argument: '$message.read' }] }),
  ],
};

/** Delivery status, read in the same advance as the message it names, and after a delay. */
const deliveryChecks = {
  key: 'delivery-checks',
  name: 'Delivery checks',
  steps: [
    inApp('feed', 'First'),
    inApp('delivered_now', 'Seen as delivered at once', { all: [{ variable: 'refs.feed.delivery_status', operator: 'equal_to', argument: '$message.delivered' }] }),
    inApp('below_sent', 'Below sent', { all: [{ variable: 'refs.feed.delivery_status', operator: 'less_than', argument: '$message.sent' }] }),
    { ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'minutes', value: 5 } } },
    inApp('delivered_later', 'Still delivered after the delay', { all: [{ variable: 'refs.feed.delivery_status', operator: 'greater_than_or_equal_to', argument: '$message.sent' }] }),
  ],
};

/** A step that produced no message counts as `$message.skipped`. */
const skippedRef = {
  key: 'skipped-ref',
  name: 'Skipped ref',
  steps: [
    inApp('vip', 'VIP only', { all: [{ variable: 'data.vip', operator: 'equal_to', argument: 'true' }] }),
    inApp('fallback', 'Everyone else', { all: [{ variable: 'refs.vip.delivery_status', operator: 'equal_to', argument: '$message.skipped' }] }),
  ],
};

describe.each(engines)('message-status step conditions (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows: [followUp, deliveryChecks, skippedRef] }); });
  afterEach(async () => { await t.close(); });

  it('sends the reminder only to the recipient who did not read the first message', async () => {
    await t.knock.workflows.trigger('follow-up', { recipients: ['ada', 'bob'] });
    await t.drain();
    const [adaFirst] = (await t.knock.users.listMessages('ada')).items;
    await t.knock.messages.markAsRead(adaFirst.id);
    t.clock.advance(HOUR);
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['You have a new comment']);
    expect(await feedTexts(t, 'bob')).toEqual(['Reminder: you have an unread comment', 'You have a new comment']);
    const [adaRun] = (await http(t, 'GET', '/v1/workflow_recipient_runs?workflow=follow-up&recipient=ada')).body.items;
    const skipped = (await runDetail(t, adaRun.id)).events.find((e) => e.event === 'step_skipped');
    expect(skipped).toMatchObject({ step_ref: 'reminder', data: { reason: 'the step\'s conditions are not met' } });
  });

  it('compares delivery status along Knock\'s hierarchy, for a message from the same advance and after a delay', async () => {
    await t.knock.workflows.trigger('delivery-checks', { recipients: ['ada'] });
    await t.drain();
    // Messages of one advance share a timestamp, so their feed order is not asserted.
    expect((await feedTexts(t, 'ada')).sort()).toEqual(['First', 'Seen as delivered at once']);
    t.clock.advance(5 * 60_000);
    await t.drain();
    expect((await feedTexts(t, 'ada')).sort()).toEqual(['First', 'Seen as delivered at once', 'Still delivered after the delay']);
  });

  it('sees a sandboxed message as not_sent, below sent', async () => {
    await t.knock.workflows.trigger('delivery-checks', { recipients: ['ada'], settings: { sandbox_mode: true } } as any);
    await t.drain();
    t.clock.advance(5 * 60_000);
    await t.drain();
    const events = (await runDetail(t, (await runsOf(t, 'delivery-checks'))[0].id)).events;
    const outcome = (ref: string) => events.filter((e) => e.step_ref === ref && e.event !== 'step_started').map((e) => e.event);
    expect([outcome('delivered_now'), outcome('below_sent'), outcome('delivered_later')]).toEqual([['step_skipped'], ['step_completed'], ['step_skipped']]);
    expect((await t.knock.users.listMessages('ada')).items.map((m) => m.status)).toEqual(['not_sent', 'not_sent']);
  });

  it('treats a step that sent nothing as $message.skipped', async () => {
    await t.knock.workflows.trigger('skipped-ref', { recipients: ['ada'], data: { vip: false } });
    await t.knock.workflows.trigger('skipped-ref', { recipients: ['bob'], data: { vip: true } });
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['Everyone else']);
    expect(await feedTexts(t, 'bob')).toEqual(['VIP only']);
  });
});
