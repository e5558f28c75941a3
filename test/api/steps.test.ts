import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';

const alerts = {
  key: 'alerts',
  name: 'Alerts',
  categories: ['alerts'],
  steps: [
    {
      ref: 'urgent',
      type: 'channel',
      channel_key: 'in-app-feed',
      conditions: { any: [{ variable: 'data.severity', operator: 'equal_to', argument: 'high' }, { all: [{ variable: 'recipient.role', operator: 'equal_to', argument: 'admin' }, { variable: 'data.count', operator: 'greater_than', argument: '10' }] }] },
      template: {
        markdown_body: '**{{ data.title }}** needs attention',
        action_buttons: [
          { label: 'Open {{ data.title }}', action: 'https://app.example.com/alerts/{{ data.id }}' },
          { label: 'Snooze', action: 'https://app.example.com/alerts/{{ data.id }}/snooze' },
        ],
      },
    },
    { ref: 'digest', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Digest: {{ data.title }}' } },
    { ref: 'sms', type: 'channel', channel_key: 'sms-twilio', template: { text_body: 'x' } },
  ],
};

describe.each(engines)('channel steps and step conditions (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows: [alerts] }); });
  afterEach(async () => { await t.close(); });

  async function stepsDelivered(user: string) {
    const items = (await t.knock.users.listMessages(user)).items;
    return items.map((m) => m.source.step_ref).sort();
  }

  it('runs a step whose condition group matches (any of: a condition, or a nested all)', async () => {
    await t.knock.users.update('root', { role: 'admin' } as any);
    await t.knock.workflows.trigger('alerts', { recipients: ['ops'], data: { severity: 'high', title: 'Disk', id: 7 } });
    await t.knock.workflows.trigger('alerts', { recipients: ['root'], data: { severity: 'low', count: 11, title: 'CPU', id: 8 } });
    await t.drain();
    expect(await stepsDelivered('ops')).toEqual(['digest', 'urgent']);
    expect(await stepsDelivered('root')).toEqual(['digest', 'urgent']);
  });

  it('skips a step whose conditions are false, records why, and runs the next step', async () => {
    await t.knock.workflows.trigger('alerts', { recipients: ['ops'], data: { severity: 'low', count: 50, title: 'Fan' } });
    await t.drain();
    expect(await stepsDelivered('ops')).toEqual(['digest']);
    const [run] = (await t.knock.workflowRecipientRuns.list({ workflow: 'alerts' })).items;
    const detail = await t.knock.workflowRecipientRuns.get(run.id);
    const skipped = detail.events.filter((e) => e.event === 'step_skipped');
    expect(skipped.map((e) => [e.step_ref, (e.data as any).reason])).toEqual([
      ['urgent', 'the step\'s conditions are not met'],
      ['sms', 'channel "sms-twilio" is not configured'],
    ]);
  });

  it('renders action buttons into a button_set block named primary and secondary', async () => {
    await t.knock.workflows.trigger('alerts', { recipients: ['ops'], data: { severity: 'high', title: 'Disk', id: 7 } });
    await t.drain();
    const urgent = (await t.knock.users.listMessages('ops')).items.find((m) => m.source.step_ref === 'urgent')!;
    const content = await t.knock.messages.getContent(urgent.id);
    const actions = (content.data as any).blocks.find((b: any) => b.name === 'actions');
    expect(actions).toEqual({
      name: 'actions',
      type: 'button_set',
      buttons: [
        { name: 'primary', label: 'Open Disk', action: 'https://app.example.com/alerts/7' },
        { name: 'secondary', label: 'Snooze', action: 'https://app.example.com/alerts/7/snooze' },
      ],
    });
    const body = (content.data as any).blocks.find((b: any) => b.name === 'body');
    expect(body).toMatchObject({ type: 'markdown', content: '**Disk** needs attention' });
    expect(body.rendered).toContain('<strong>Disk</strong> needs attention');
  });
});
