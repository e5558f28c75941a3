/**
 * Channel groups (`channel_group_key`: an ordered list of channels, `all` or `first`) and email
 * layouts (`template.settings.layout_key`), configured like channels and used through the API.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, startTestHerald, type EngineName, type TestHerald } from '../support/harness.js';
import { runDetail, runsOf } from '../support/runs.js';
import { LoopbackSmtp } from '../support/smtp-server.js';

const everywhere = {
  key: 'everywhere', name: 'Everywhere',
  steps: [{ ref: 'notify', type: 'channel', channel_group_key: 'all-channels', template: { subject: 'News', text_body: 'News for {{ recipient.name }}', markdown_body: 'News for {{ recipient.name }}' } }],
};
const firstReachable = {
  key: 'first-reachable', name: 'First reachable',
  steps: [{ ref: 'notify', type: 'channel', channel_group_key: 'email-else-feed', template: { subject: 'News', text_body: 'News', markdown_body: 'News' } }],
};
const laidOut = {
  key: 'laid-out', name: 'Laid out',
  steps: [{ ref: 'email', type: 'channel', channel_key: 'postal', template: { subject: 'Hi', html_body: '<p>Hello {{ recipient.name }}</p>', text_body: 'Hello {{ recipient.name }}', settings: { layout_key: 'branded' } } }],
};
const unknownLayout = {
  key: 'unknown-layout', name: 'Unknown layout',
  steps: [{ ref: 'email', type: 'channel', channel_key: 'postal', template: { subject: 'Hi', text_body: 'x', settings: { layout_key: 'missing' } } }],
};
const defaultLayout = {
  key: 'default-layout', name: 'Default layout',
  steps: [{ ref: 'email', type: 'channel', channel_key: 'postal', template: { subject: 'Hi', text_body: 'plain', settings: { layout_key: 'default' } } }],
};

describe.each(engines)('channel groups and email layouts (%s)', (engine: EngineName) => {
  let t: TestHerald;
  let smtp: LoopbackSmtp;
  beforeEach(async () => {
    smtp = await new LoopbackSmtp('pw').start();
    t = await startTestHerald(engine, {
      workflows: [everywhere, firstReachable, laidOut, unknownLayout, defaultLayout],
      channels: [{ key: 'postal', type: 'email', provider: 'smtp', settings: smtp.settings() }],
      channelGroups: [
        { key: 'all-channels', mode: 'all', channels: ['postal', 'in-app-feed'] },
        { key: 'email-else-feed', mode: 'first', channels: ['postal', 'in-app-feed'] },
      ],
      emailLayouts: [{ key: 'branded', html_layout: '<html><body><h1>Acme</h1>{{ content }}<footer>To {{ recipient.name }}</footer></body></html>', text_layout: 'ACME\n{{ content }}\n-- the Acme team' }],
    });
  });
  afterEach(async () => {
    await t.close();
    await smtp.close();
  });

  const channelTypes = async (user: string) => (await t.knock.users.listMessages(user)).items.map((m) => m.channel?.type).sort();

  it('a group in "all" mode sends one message on every channel the recipient can receive', async () => {
    await t.knock.users.update('ada', { name: 'Ada', email: 'ada@example.com' } as any);
    await t.knock.workflows.trigger('everywhere', { recipients: ['ada'] });
    await t.drain();
    expect(await channelTypes('ada')).toEqual(['email', 'in_app_feed']);
    expect(smtp.received.map((m) => m.text?.trim())).toEqual(['News for Ada']);
    const [run] = await runsOf(t, 'everywhere');
    const completed = (await runDetail(t, run.id)).events.find((e) => e.event === 'step_completed');
    expect((completed?.data?.message_ids as string[]).length).toBe(2);
  });

  it('a group in "all" mode leaves out a channel the recipient cannot receive and says why', async () => {
    await t.knock.users.update('bo', { name: 'Bo' });
    await t.knock.workflows.trigger('everywhere', { recipients: ['bo'] });
    await t.drain();
    expect(await channelTypes('bo')).toEqual(['in_app_feed']);
    const [run] = await runsOf(t, 'everywhere');
    const completed = (await runDetail(t, run.id)).events.find((e) => e.event === 'step_completed');
    expect(completed?.data?.channels_skipped).toEqual([{ channel_key: 'postal', reason: 'recipient has no email' }]);
  });

  it('a group in "first" mode sends on the first channel the recipient can receive only', async () => {
    await t.knock.users.update('cy', { name: 'Cy', email: 'cy@example.com' } as any);
    await t.knock.users.update('di', { name: 'Di' });
    await t.knock.workflows.trigger('first-reachable', { recipients: ['cy', 'di'] });
    await t.drain();
    expect(await channelTypes('cy')).toEqual(['email']);
    expect(await channelTypes('di')).toEqual(['in_app_feed']);
  });

  it('a channel opted out in preferences is left out of the group', async () => {
    await t.knock.users.update('ed', { name: 'Ed', email: 'ed@example.com' } as any);
    await t.knock.users.setPreferences('ed', 'default', { channel_types: { email: false } } as any);
    await t.knock.workflows.trigger('first-reachable', { recipients: ['ed'] });
    await t.drain();
    expect(await channelTypes('ed')).toEqual(['in_app_feed']);
  });

  it('wraps the email in its layout: {{ content }} is the rendered body, the layout sees the same variables', async () => {
    await t.knock.users.update('fay', { name: 'Fay <3', email: 'fay@example.com' } as any);
    await t.knock.workflows.trigger('laid-out', { recipients: ['fay'] });
    await t.drain();
    const [mail] = smtp.received;
    expect(mail.html).toBe('<html><body><h1>Acme</h1><p>Hello Fay &lt;3</p><footer>To Fay <3</footer></body></html>');
    expect(mail.text?.trim()).toBe('ACME\nHello Fay <3\n-- the Acme team');
    const [message] = (await t.knock.users.listMessages('fay')).items;
    expect((await t.knock.messages.getContent(message.id)).data).toMatchObject({ html_body: mail.html });
  });

  it('an unknown layout skips the step with the reason; "default" without a configured layout sends the body as is', async () => {
    await t.knock.users.update('gus', { name: 'Gus', email: 'gus@example.com' } as any);
    await t.knock.workflows.trigger('unknown-layout', { recipients: ['gus'] });
    await t.knock.workflows.trigger('default-layout', { recipients: ['gus'] });
    await t.drain();
    const [run] = await runsOf(t, 'unknown-layout');
    const skipped = (await runDetail(t, run.id)).events.find((e) => e.event === 'step_skipped');
    expect(skipped?.data).toMatchObject({ reason: 'email layout "missing" is not configured' });
    expect(smtp.received.map((m) => m.text?.trim())).toEqual(['plain']);
  });
});
