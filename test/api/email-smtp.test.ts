/**
 * Email channel steps delivered over SMTP to a real SMTP server on loopback (`smtp-server`),
 * through the durable delivery job: rendering, the Message-ID derived from the message id,
 * statuses and events, delivery logs, retries with backoff, and giving up.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LoopbackSmtp } from '../support/smtp-server.js';
import { upsertChannels } from '../../src/store/configured-channels.js';
import { claimDueDeliveries, settleDelivery } from '../../src/store/deliveries.js';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { responseContract } from '../support/openapi.js';

const SMTP_PASSWORD = 's3cret-smtp-pass';

const welcome = {
  key: 'welcome',
  name: 'Welcome',
  steps: [{
    ref: 'email',
    type: 'channel',
    channel_key: 'postal',
    template: {
      subject: 'Welcome, {{ recipient.name }}',
      html_body: '<p>Hello <b>{{ recipient.name }}</b>, your code is {{ data.code }}</p>',
      text_body: 'Hello {{ recipient.name }}, your code is {{ data.code }}',
    },
    channel_overrides: { reply_to_address: 'support@herald.test' },
  }],
};

describe.each(engines)('email over SMTP (%s)', (engine) => {
  let t: TestHerald;
  let smtp: LoopbackSmtp;
  beforeEach(async () => {
    smtp = await new LoopbackSmtp(SMTP_PASSWORD).start();
    t = await startTestHerald(engine, { workflows: [welcome] });
    // What createHerald does with the configured `channels` at start-up.
    await upsertChannels(t.db, [{
      key: 'postal', type: 'email', provider: 'smtp', name: 'Postal',
      settings: { host: '127.0.0.1', port: smtp.port, ignore_tls: true, user: 'herald', password: SMTP_PASSWORD, from: 'Herald <noreply@herald.test>' },
    }], t.clock.now());
  });
  afterEach(async () => {
    await t.close();
    await smtp.close();
  });

  async function triggerFor(user: { id: string; email?: string; name: string }) {
    await t.knock.users.update(user.id, { name: user.name, ...(user.email ? { email: user.email } : {}) } as any);
    await t.knock.workflows.trigger('welcome', { recipients: [user.id], data: { code: '<42>' } });
    await t.drain();
  }

  async function onlyMessage(user: string) {
    const { items } = await t.knock.users.listMessages(user);
    expect(items).toHaveLength(1);
    return items[0];
  }

  async function eventTypes(messageId: string) {
    const { items } = await t.knock.messages.listEvents(messageId);
    return items.map((e) => e.type).reverse();
  }

  it('renders the email, sends it to the SMTP server with a Message-ID from the message id, and marks it sent', async () => {
    await triggerFor({ id: 'ada', email: 'ada@example.com', name: 'Ada' });
    const message = await onlyMessage('ada');
    expect(message.status).toBe('sent');
    expect(await eventTypes(message.id)).toEqual(['message.queued', 'message.sent']);

    expect(smtp.received).toHaveLength(1);
    const mail = smtp.received[0];
    expect(mail.from?.text).toBe('"Herald" <noreply@herald.test>');
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : null).toBe('ada@example.com');
    expect(mail.replyTo?.text).toBe('support@herald.test');
    expect(mail.subject).toBe('Welcome, Ada');
    expect(mail.html).toBe('<p>Hello <b>Ada</b>, your code is &lt;42&gt;</p>');
    expect(mail.text?.trim()).toBe('Hello Ada, your code is <42>');
    expect(mail.messageId).toBe(`<${message.id}@herald.test>`);

    const content = await t.knock.messages.getContent(message.id);
    expect(content.data).toMatchObject({ from: 'Herald <noreply@herald.test>', to: 'ada@example.com', subject_line: 'Welcome, Ada' });

    const logs = (await t.knock.messages.listDeliveryLogs(message.id)).items;
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ __typename: 'MessageDeliveryLog', service_name: 'smtp', response: { status: 250 } });
    expect((logs[0].request.headers as any)['message-id']).toBe(`<${message.id}@herald.test>`);
    const raw = await http(t, 'GET', `/v1/messages/${message.id}/delivery_logs`);
    expect(responseContract('GET', '/v1/messages/{message_id}/delivery_logs', 200).validate(raw.body)).toEqual([]);
    // The SMTP password is configuration only: never in a log or an API answer.
    expect(JSON.stringify(logs)).not.toContain(SMTP_PASSWORD);
    const channels = await http(t, 'GET', '/v1/channels');
    expect(channels.body.items.map((c: any) => [c.key, c.type, c.provider])).toContainEqual(['postal', 'email', 'smtp']);
    expect(JSON.stringify(channels.body)).not.toContain(SMTP_PASSWORD);
  });

  it('skips the step with a recorded reason when the recipient has no email', async () => {
    await triggerFor({ id: 'noemail', name: 'No Email' });
    expect((await t.knock.users.listMessages('noemail')).items).toEqual([]);
    const [run] = (await t.knock.workflowRecipientRuns.list({ workflow: 'welcome' })).items;
    const detail = await t.knock.workflowRecipientRuns.get(run.id);
    const skipped = detail.events.filter((e) => e.event === 'step_skipped');
    expect(skipped.map((e) => [e.step_ref, (e.data as any).reason])).toEqual([['email', 'recipient has no email']]);
    expect(smtp.attempts).toBe(0);
  });

  it('retries a temporary 451 after the backoff: queued → delivery_attempted → sent', async () => {
    smtp.script = [451];
    await triggerFor({ id: 'bo', email: 'bo@example.com', name: 'Bo' });
    const message = await onlyMessage('bo');
    expect(message.status).toBe('delivery_attempted');
    expect(smtp.attempts).toBe(1);

    // The first retry waits 15 s ± 20 %: not before 12 s ...
    t.clock.advance(11_000);
    await t.drain();
    expect(smtp.attempts).toBe(1);
    // ... and by 18 s it has gone.
    t.clock.advance(8_000);
    await t.drain();
    expect(smtp.attempts).toBe(2);
    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0].messageId).toBe(`<${message.id}@herald.test>`);
    expect((await t.knock.messages.get(message.id)).status).toBe('sent');
    expect(await eventTypes(message.id)).toEqual(['message.queued', 'message.delivery_attempted', 'message.sent']);
    const logs = (await t.knock.messages.listDeliveryLogs(message.id)).items;
    expect(logs.map((l) => l.response.status)).toEqual([250, 451]);
  });

  it('gives up at once on a permanent 550: undelivered', async () => {
    smtp.script = [550];
    await triggerFor({ id: 'cy', email: 'cy@example.com', name: 'Cy' });
    const message = await onlyMessage('cy');
    expect(message.status).toBe('undelivered');
    expect(await eventTypes(message.id)).toEqual(['message.queued', 'message.undelivered']);
    t.clock.advance(60 * 60_000);
    await t.drain();
    expect(smtp.attempts).toBe(1);
    expect((await t.knock.messages.listDeliveryLogs(message.id)).items.map((l) => l.response.status)).toEqual([550]);
  });

  it('gives up after 8 temporary failures: undelivered', async () => {
    smtp.script = Array(20).fill(451);
    await triggerFor({ id: 'di', email: 'di@example.com', name: 'Di' });
    const message = await onlyMessage('di');
    for (let i = 0; i < 10; i += 1) {
      t.clock.advance(20 * 60_000);
      await t.drain();
    }
    expect(smtp.attempts).toBe(8);
    expect(smtp.received).toHaveLength(0);
    expect((await t.knock.messages.get(message.id)).status).toBe('undelivered');
    expect(await eventTypes(message.id)).toEqual(['message.queued', 'message.delivery_attempted', 'message.undelivered']);
    expect((await t.knock.messages.listDeliveryLogs(message.id)).items).toHaveLength(8);
  });

  it('a job claimed by a worker that died is sent by another after the 60 s lease, once', async () => {
    await t.knock.users.update('fay', { name: 'Fay', email: 'fay@example.com' } as any);
    await t.knock.workflows.trigger('welcome', { recipients: ['fay'], data: { code: '7' } });
    await t.herald.worker.drain();
    // A worker claims the job and dies before sending it.
    const [claimed] = await claimDueDeliveries(t.db, 'dead-worker', t.clock.now(), new Date(t.clock.now().getTime() + 60_000), 10);
    expect(claimed.channel.key).toBe('postal');
    await t.drain();
    expect(smtp.attempts).toBe(0);
    t.clock.advance(61_000);
    await t.drain();
    expect(smtp.received).toHaveLength(1);
    const message = await onlyMessage('fay');
    expect(message.status).toBe('sent');
    // The dead worker's late outcome is refused: its claim was taken over.
    const late = await settleDelivery(t.db, 'dead-worker', message.id, 1, { kind: 'final', status: 'undelivered' },
      [{ serviceName: 'smtp', request: {}, response: {} }], t.clock.now());
    expect(late).toBe(false);
    expect((await t.knock.messages.get(message.id)).status).toBe('sent');
    expect((await t.knock.messages.listDeliveryLogs(message.id)).items).toHaveLength(1);
  });

  it('sandbox mode renders the message as not_sent and sends nothing', async () => {
    await t.knock.users.update('ed', { name: 'Ed', email: 'ed@example.com' } as any);
    await t.knock.workflows.trigger('welcome', { recipients: ['ed'], data: { code: '1' }, settings: { sandbox_mode: true } } as any);
    await t.drain();
    const message = await onlyMessage('ed');
    expect(message.status).toBe('not_sent');
    expect(smtp.attempts).toBe(0);
    expect((await t.knock.messages.listDeliveryLogs(message.id)).items).toEqual([]);
  });
});
