/**
 * A burst of emails through one channel: the delivery task keeps many sends in flight on the
 * channel's pooled SMTP connections and settles their outcomes many per statement. Each message
 * must still be sent exactly once, with its own Message-ID, one `message.sent` event and one
 * delivery log row, and a failed send among them must be retried on its own.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LoopbackSmtp } from '../support/smtp-server.js';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';

const SMTP_PASSWORD = 'burst-smtp-pass';
const USERS = 24;

const welcome = {
  key: 'welcome',
  name: 'Welcome',
  steps: [{ ref: 'email', type: 'channel', channel_key: 'postal', template: { subject: 'Hi {{ recipient.name }}', text_body: 'Hello {{ recipient.name }}' } }],
};

describe.each(engines)('a burst of emails over pooled SMTP (%s)', (engine) => {
  let t: TestHerald;
  let smtp: LoopbackSmtp;
  beforeEach(async () => {
    smtp = await new LoopbackSmtp(SMTP_PASSWORD).start();
    t = await startTestHerald(engine, {
      workflows: [welcome],
      channels: [{
        key: 'postal', type: 'email', provider: 'smtp',
        settings: { host: '127.0.0.1', port: smtp.port, ignore_tls: true, user: 'herald', password: SMTP_PASSWORD, from: 'Herald <noreply@herald.test>', max_connections: 4 },
      }],
    });
  });
  afterEach(async () => {
    await t.close();
    await smtp.close();
  });

  it('sends every message once, settles each with one event and one log, and retries only the one that failed', async () => {
    const ids = Array.from({ length: USERS }, (_, i) => `burst-${i}`);
    for (const id of ids) await t.knock.users.update(id, { name: id, email: `${id}@example.com` } as any);
    smtp.script = [451]; // the first DATA of the burst is refused for now
    await t.knock.workflows.trigger('welcome', { recipients: ids });
    await t.drain();

    expect(smtp.received).toHaveLength(USERS - 1);
    const statuses = new Map<string, string>();
    for (const id of ids) {
      const { items } = await t.knock.users.listMessages(id);
      expect(items).toHaveLength(1);
      statuses.set(items[0].id, items[0].status);
    }
    const retried = [...statuses].filter(([, s]) => s === 'delivery_attempted').map(([id]) => id);
    expect(retried).toHaveLength(1);
    expect([...statuses.values()].filter((s) => s === 'sent')).toHaveLength(USERS - 1);

    t.clock.advance(20_000); // past the first backoff (15 s ± 20 %)
    await t.drain();
    expect(smtp.received).toHaveLength(USERS);
    const messageIds = smtp.received.map((m) => m.messageId);
    expect(new Set(messageIds).size).toBe(USERS);
    for (const id of statuses.keys()) {
      expect(messageIds).toContain(`<${id}@herald.test>`);
      const message = await t.knock.messages.get(id);
      expect(message.status).toBe('sent');
      const events = (await t.knock.messages.listEvents(id)).items.map((e) => e.type).reverse();
      expect(events).toEqual(id === retried[0]
        ? ['message.queued', 'message.delivery_attempted', 'message.sent']
        : ['message.queued', 'message.sent']);
      const logs = (await t.knock.messages.listDeliveryLogs(id)).items;
      expect(logs).toHaveLength(id === retried[0] ? 2 : 1);
    }
  });
});
