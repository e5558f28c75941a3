/**
 * Provider status webhooks (Herald extension): `POST /v1/channels/{channel}/provider_webhooks/{provider}?token=…`
 * moves a sent message to `bounced`, `delivered` or `undelivered` from what the provider reports:
 * an SMTP bounce (the raw DSN, matched by the original Message-ID), Postmark's bounce webhook and
 * Twilio's StatusCallback (matched by the provider's id recorded at send time). Real loopback
 * providers send first; the webhook is then posted the way the provider would post it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type EngineName, type TestHerald } from '../support/harness.js';
import { LoopbackSmtp } from '../support/smtp-server.js';
import { FakePostmark } from '../support/providers/email-servers.js';
import { FakeTwilio } from '../support/providers/sms-servers.js';

const TOKEN = 'inbound-secret-token-1';
const POSTMARK_TOKEN = 'pm-server-token';
const TWILIO_SID = 'AC00000000000000000000000000000001';
const TWILIO_TOKEN = 'twilio-auth-token';

const emailStep = (channel: string) => ({ ref: 'email', type: 'channel', channel_key: channel, template: { subject: 'Hello', text_body: 'Hello {{ recipient.name }}' } });
const workflows = [
  { key: 'smtp-mail', name: 'SMTP mail', steps: [emailStep('postal')] },
  { key: 'postmark-mail', name: 'Postmark mail', steps: [emailStep('pm')] },
  { key: 'sms', name: 'SMS', steps: [{ ref: 'sms', type: 'channel', channel_key: 'texts', template: { text_body: 'Your code is 1' } }] },
];

/** A bounce as Postfix returns it (RFC 3464 delivery status notification), the original headers attached. */
function dsn(messageId: string, status: string, diagnostic: string): string {
  return [
    'From: MAILER-DAEMON@mx.example.com', 'Subject: Undelivered Mail Returned to Sender', 'Content-Type: multipart/report; report-type=delivery-status; boundary="b"', '',
    '--b', 'Content-Type: text/plain', '', 'I\'m sorry to have to inform you that your message could not be delivered.', '',
    '--b', 'Content-Type: message/delivery-status', '', 'Reporting-MTA: dns; mx.example.com', '',
    'Final-Recipient: rfc822; ada@example.com', 'Action: failed', `Status: ${status}`, `Diagnostic-Code: smtp; ${diagnostic}`, '',
    '--b', 'Content-Type: text/rfc822-headers', '', 'From: noreply@herald.test', 'To: ada@example.com', `Message-ID: <${messageId}@herald.test>`, 'Subject: Hello', '', '--b--', '',
  ].join('\r\n');
}

describe.each(engines)('provider status webhooks (%s)', (engine: EngineName) => {
  let t: TestHerald;
  let smtp: LoopbackSmtp;
  let postmark: FakePostmark;
  let twilio: FakeTwilio;
  beforeEach(async () => {
    smtp = await new LoopbackSmtp('pw').start();
    postmark = await new FakePostmark(POSTMARK_TOKEN).start();
    twilio = await new FakeTwilio(TWILIO_SID, { [TWILIO_SID]: TWILIO_TOKEN }).start();
    t = await startTestHerald(engine, {
      workflows,
      channels: [
        { key: 'postal', type: 'email', provider: 'smtp', settings: { ...smtp.settings(), inbound_webhook_token: TOKEN } },
        { key: 'pm', type: 'email', provider: 'postmark', settings: { base_url: postmark.url, server_token: POSTMARK_TOKEN, from: 'noreply@herald.test', inbound_webhook_token: TOKEN } },
        { key: 'texts', type: 'sms', provider: 'twilio', settings: { base_url: twilio.url, account_sid: TWILIO_SID, auth_token: TWILIO_TOKEN, from: '+15005550006', inbound_webhook_token: TOKEN } },
      ],
    });
    await t.knock.users.update('ada', { name: 'Ada', email: 'ada@example.com', phone_number: '+14155550100' } as any);
  });
  afterEach(async () => {
    await t.close();
    await Promise.all([smtp.close(), postmark.close(), twilio.close()]);
  });

  async function sentMessage(workflow: string) {
    await t.knock.workflows.trigger(workflow, { recipients: ['ada'] });
    await t.drain();
    const { items } = await t.knock.users.listMessages('ada');
    expect(items[0].status).toBe('sent');
    return items[0];
  }

  /** Posts as a provider does: no API key, the token in the URL. */
  async function post(channel: string, provider: string, body: string, contentType: string, token = TOKEN) {
    const res = await fetch(`${t.url}/v1/channels/${channel}/provider_webhooks/${provider}?token=${encodeURIComponent(token)}`, { method: 'POST', headers: { 'content-type': contentType }, body });
    return { status: res.status, body: await res.json() };
  }

  const lastEvent = async (messageId: string) => (await t.knock.messages.listEvents(messageId)).items[0];

  it('an SMTP bounce (the DSN as the mail server returned it) marks the email bounced, with the diagnostic', async () => {
    const message = await sentMessage('smtp-mail');
    const res = await post('postal', 'smtp', dsn(message.id, '5.1.1', '550 5.1.1 <ada@example.com>: Recipient address rejected'), 'message/rfc822');
    expect(res).toEqual({ status: 200, body: { matched: 1, updated: 1 } });
    expect((await t.knock.messages.get(message.id)).status).toBe('bounced');
    const event = await lastEvent(message.id);
    expect(event.type).toBe('message.bounced');
    expect(event.data).toEqual({ reason: 'smtp; 550 5.1.1 <ada@example.com>: Recipient address rejected', provider: 'smtp' });
  });

  it('a delayed-delivery DSN (4.x.x) is not an outcome; a repeated bounce changes nothing', async () => {
    const message = await sentMessage('smtp-mail');
    expect((await post('postal', 'smtp', dsn(message.id, '4.4.1', 'connection timed out'), 'text/plain')).body).toEqual({ matched: 0, updated: 0 });
    expect((await t.knock.messages.get(message.id)).status).toBe('sent');
    await post('postal', 'smtp', dsn(message.id, '5.1.1', 'no such user'), 'text/plain');
    expect((await post('postal', 'smtp', dsn(message.id, '5.1.1', 'no such user'), 'text/plain')).body).toEqual({ matched: 1, updated: 0 });
    expect((await t.knock.messages.listEvents(message.id)).items.map((e) => e.type)).toEqual(['message.bounced', 'message.sent', 'message.queued']);
  });

  it('Postmark\'s bounce webhook finds the message by the MessageID Postmark returned', async () => {
    const message = await sentMessage('postmark-mail');
    const bounce = { RecordType: 'Bounce', Type: 'HardBounce', MessageID: postmark.emails[0].MessageID, Email: 'ada@example.com', Description: 'The server was unable to deliver your message', MessageStream: 'outbound' };
    expect(await post('pm', 'postmark', JSON.stringify(bounce), 'application/json')).toEqual({ status: 200, body: { matched: 1, updated: 1 } });
    expect((await t.knock.messages.get(message.id)).status).toBe('bounced');
    expect((await lastEvent(message.id)).data).toMatchObject({ reason: 'HardBounce: The server was unable to deliver your message' });
  });

  it('Twilio\'s StatusCallback (a form post) moves the SMS to delivered, or to undelivered with the error code', async () => {
    const message = await sentMessage('sms');
    const sid = twilio.sids[0];
    expect((await post('texts', 'twilio', new URLSearchParams({ MessageSid: sid, MessageStatus: 'delivered', AccountSid: TWILIO_SID }).toString(), 'application/x-www-form-urlencoded')).body).toEqual({ matched: 1, updated: 1 });
    expect((await t.knock.messages.get(message.id)).status).toBe('delivered');
    await post('texts', 'twilio', new URLSearchParams({ MessageSid: sid, MessageStatus: 'undelivered', ErrorCode: '30003' }).toString(), 'application/x-www-form-urlencoded');
    expect((await t.knock.messages.get(message.id)).status).toBe('undelivered');
    expect((await lastEvent(message.id)).data).toMatchObject({ reason: 'error 30003' });
  });

  it('a message deleted in bulk takes the provider\'s id for it along: a later bounce for that id matches nothing', async () => {
    const message = await sentMessage('postmark-mail');
    const messageId = postmark.emails[0].MessageID;
    const ids = async () => t.db.query<{ message_id: string }>('SELECT message_id FROM message_external_ids WHERE provider = $1 AND external_id = $2', ['postmark', messageId]);
    expect(await ids()).toEqual([{ message_id: message.id }]);
    const op = await t.knock.channels.bulk.updateMessageStatus('pm', 'delete', { recipient_ids: ['ada'] });
    expect(op.success_count).toBe(1);
    expect(await ids()).toEqual([]);
    const bounce = { RecordType: 'Bounce', Type: 'HardBounce', MessageID: messageId, Email: 'ada@example.com', Description: 'gone' };
    expect((await post('pm', 'postmark', JSON.stringify(bounce), 'application/json')).body).toEqual({ matched: 1, updated: 0 });
  });

  it('a status for another channel\'s message, or an unknown id, changes nothing', async () => {
    const message = await sentMessage('smtp-mail');
    expect((await post('pm', 'smtp', dsn(message.id, '5.1.1', 'x'), 'text/plain')).body).toEqual({ matched: 1, updated: 0 });
    expect((await post('pm', 'postmark', JSON.stringify({ RecordType: 'Bounce', MessageID: 'no-such-id' }), 'application/json')).body).toEqual({ matched: 1, updated: 0 });
    expect((await t.knock.messages.get(message.id)).status).toBe('sent');
  });

  it('needs the channel\'s token (or the secret key), and names the providers it can read', async () => {
    const message = await sentMessage('smtp-mail');
    const wrong = await post('postal', 'smtp', dsn(message.id, '5.1.1', 'x'), 'text/plain', 'not-the-token');
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ code: 'authentication_required' });
    expect((await t.knock.messages.get(message.id)).status).toBe('sent');
    const withKey = await http(t, 'POST', '/v1/channels/postal/provider_webhooks/resend', { type: 'email.delivered', data: { email_id: 'x' } });
    expect(withKey).toMatchObject({ status: 200, body: { matched: 1, updated: 0 } });
    const unknown = await http(t, 'POST', '/v1/channels/postal/provider_webhooks/carrier-pigeon', {});
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors[0]).toMatchObject({ field: 'provider' });
  });
});
