/**
 * Email channel steps delivered through the HTTP APIs of Postmark and Resend, each to a loopback
 * server that checks the request as the provider does: the exact request (auth header, body
 * schema), the provider message id recorded, retryable failures retried after the backoff,
 * permanent ones ending `undelivered`, no credential in any log, and, for Resend, its
 * idempotency key making a retry after a lost answer send ONE email.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { eventTypes, onlyMessage, skipReasons } from '../support/deliveries.js';
import { responseContract } from '../support/openapi.js';
import { FakePostmark, FakeResend } from '../support/providers/email-servers.js';
import { addressList, resendTagValue } from '../../src/providers/resend.js';

const POSTMARK_TOKEN = 'pm-server-token-5f1c9e';
const RESEND_KEY = 're_live_key_8d2a7b61';

const template = {
  subject: 'Welcome, {{ recipient.name }}',
  html_body: '<p>Hello <b>{{ recipient.name }}</b>, your code is {{ data.code }}</p>',
  text_body: 'Hello {{ recipient.name }}, your code is {{ data.code }}',
};
const welcome = (key: string, channel: string) => ({
  key,
  name: key,
  steps: [{
    ref: 'email',
    type: 'channel',
    channel_key: channel,
    template,
    channel_overrides: { reply_to_address: 'support@herald.test', cc_address: 'audit@herald.test' },
  }],
});

async function triggerFor(t: TestHerald, workflow: string, user: { id: string; email?: string; name: string }) {
  await t.knock.users.update(user.id, { name: user.name, ...(user.email ? { email: user.email } : {}) } as any);
  await t.knock.workflows.trigger(workflow, { recipients: [user.id], data: { code: '<42>' } });
  await t.drain();
}

/** Delivery logs oldest first. */
async function logsOf(t: TestHerald, messageId: string) {
  return (await t.knock.messages.listDeliveryLogs(messageId)).items.reverse();
}

/** The provider's id for the message, as the delivery task recorded it. */
async function externalId(t: TestHerald, messageId: string) {
  const [row] = await t.db.query<{ provider: string | null; external_id: string | null }>('SELECT provider, external_id FROM messages WHERE id = $1', [messageId]);
  return row;
}

describe.each(engines)('email through Postmark (%s)', (engine) => {
  let t: TestHerald;
  let postmark: FakePostmark;
  beforeEach(async () => {
    postmark = await new FakePostmark(POSTMARK_TOKEN, ['outbound', 'notifications']).start();
    const settings = { server_token: POSTMARK_TOKEN, base_url: postmark.url, from: 'Herald <noreply@herald.test>', message_stream: 'notifications' };
    t = await startTestHerald(engine, {
      workflows: [welcome('welcome', 'postmark'), welcome('bad-token', 'postmark-bad-token'), welcome('no-from', 'postmark-no-from')],
      channels: [
        { key: 'postmark', type: 'email', provider: 'postmark', settings },
        { key: 'postmark-bad-token', type: 'email', provider: 'postmark', settings: { ...settings, server_token: 'not-the-token' } },
        { key: 'postmark-no-from', type: 'email', provider: 'postmark', settings: { ...settings, from: undefined } },
      ],
    });
  });
  afterEach(async () => {
    await t.close();
    await postmark.close();
  });

  it('sends the email as Postmark expects it, records its MessageID and marks the message sent', async () => {
    await triggerFor(t, 'welcome', { id: 'ada', email: 'ada@example.com', name: 'Ada' });
    const message = await onlyMessage(t, 'ada');
    expect(message.status).toBe('sent');
    expect(await eventTypes(t, message.id)).toEqual(['message.queued', 'message.sent']);

    expect(postmark.requestCount).toBe(1);
    expect(postmark.emails).toHaveLength(1);
    const [email] = postmark.emails;
    expect(email.headers['x-postmark-server-token']).toBe(POSTMARK_TOKEN);
    expect(email.headers['content-type']).toMatch(/^application\/json/);
    expect(email.headers.accept).toBe('application/json');
    expect(email.body).toEqual({
      From: 'Herald <noreply@herald.test>',
      To: 'ada@example.com',
      Cc: 'audit@herald.test',
      ReplyTo: 'support@herald.test',
      Subject: 'Welcome, Ada',
      HtmlBody: '<p>Hello <b>Ada</b>, your code is &lt;42&gt;</p>',
      TextBody: 'Hello Ada, your code is <42>',
      MessageStream: 'notifications',
      Metadata: { herald_message_id: message.id },
    });

    expect(await externalId(t, message.id)).toEqual({ provider: 'postmark', external_id: email.MessageID });
    expect((await t.knock.messages.get(message.id)).metadata).toMatchObject({ provider: 'postmark', external_id: email.MessageID });
    const logs = await logsOf(t, message.id);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      service_name: 'postmark',
      request: { method: 'POST', path: '/email', headers: { 'X-Postmark-Server-Token': '[REDACTED]' } },
      response: { status: 200, body: { MessageID: email.MessageID, ErrorCode: 0, Message: 'OK' } },
    });
    const raw = await http(t, 'GET', `/v1/messages/${message.id}/delivery_logs`);
    expect(responseContract('GET', '/v1/messages/{message_id}/delivery_logs', 200).validate(raw.body)).toEqual([]);
    expect(JSON.stringify(raw.body)).not.toContain(POSTMARK_TOKEN);
    expect(JSON.stringify(await t.knock.messages.getContent(message.id))).not.toContain(POSTMARK_TOKEN);
    expect(JSON.stringify((await http(t, 'GET', '/v1/channels')).body)).not.toContain(POSTMARK_TOKEN);
  });

  it('a wrong server token is refused with Postmark\'s 401 and the message is undelivered', async () => {
    await triggerFor(t, 'bad-token', { id: 'bo', email: 'bo@example.com', name: 'Bo' });
    const message = await onlyMessage(t, 'bo');
    expect(message.status).toBe('undelivered');
    t.clock.advance(60 * 60_000);
    await t.drain();
    expect(postmark.requestCount).toBe(1);
    expect(postmark.emails).toHaveLength(0);
    const logs = await logsOf(t, message.id);
    expect(logs.map((l) => [l.response.status, (l.response.body as any).ErrorCode])).toEqual([[401, 10]]);
    expect(JSON.stringify(logs)).not.toContain('not-the-token');
  });

  it('retries a 503 after the backoff and then sends: queued → delivery_attempted → sent', async () => {
    postmark.script = [FakePostmark.error(503, 0, 'Service Unavailable')];
    await triggerFor(t, 'welcome', { id: 'cy', email: 'cy@example.com', name: 'Cy' });
    const message = await onlyMessage(t, 'cy');
    expect(message.status).toBe('delivery_attempted');
    expect(postmark.requestCount).toBe(1);
    t.clock.advance(11_000);
    await t.drain();
    expect(postmark.requestCount).toBe(1);
    t.clock.advance(8_000);
    await t.drain();
    expect(postmark.requestCount).toBe(2);
    expect(postmark.emails).toHaveLength(1);
    expect((await t.knock.messages.get(message.id)).status).toBe('sent');
    expect(await eventTypes(t, message.id)).toEqual(['message.queued', 'message.delivery_attempted', 'message.sent']);
    expect((await logsOf(t, message.id)).map((l) => l.response.status)).toEqual([503, 200]);
    expect((await externalId(t, message.id)).external_id).toBe(postmark.emails[0].MessageID);
  });

  it('gives up at once on an inactive recipient (422, ErrorCode 406): undelivered', async () => {
    postmark.inactive.add('di@example.com');
    await triggerFor(t, 'welcome', { id: 'di', email: 'di@example.com', name: 'Di' });
    const message = await onlyMessage(t, 'di');
    expect(message.status).toBe('undelivered');
    expect(await eventTypes(t, message.id)).toEqual(['message.queued', 'message.undelivered']);
    t.clock.advance(60 * 60_000);
    await t.drain();
    expect(postmark.requestCount).toBe(1);
    const [log] = await logsOf(t, message.id);
    expect(log.response).toMatchObject({ status: 422, body: { ErrorCode: 406 } });
    expect((await externalId(t, message.id)).external_id).toBeNull();
  });

  it('without any sender the message is undelivered with the reason, and Postmark is not called', async () => {
    await triggerFor(t, 'no-from', { id: 'ed', email: 'ed@example.com', name: 'Ed' });
    const message = await onlyMessage(t, 'ed');
    expect(message.status).toBe('undelivered');
    expect(postmark.requestCount).toBe(0);
    const [log] = await logsOf(t, message.id);
    expect(String(log.response.body)).toContain('no from address');
    expect(JSON.stringify(log)).not.toContain(POSTMARK_TOKEN);
  });

  it('skips the step with a recorded reason when the recipient has no email', async () => {
    await triggerFor(t, 'welcome', { id: 'nomail', name: 'No Mail' });
    expect((await t.knock.users.listMessages('nomail')).items).toEqual([]);
    expect(await skipReasons(t, 'welcome')).toEqual([['email', 'recipient has no email']]);
    expect(postmark.requestCount).toBe(0);
  });
});

describe.each(engines)('email through Resend (%s)', (engine) => {
  let t: TestHerald;
  let resend: FakeResend;
  beforeEach(async () => {
    resend = await new FakeResend(RESEND_KEY).start();
    const settings = { api_key: RESEND_KEY, base_url: resend.url, from_address: 'noreply@herald.test', from_name: 'Herald' };
    t = await startTestHerald(engine, {
      workflows: [welcome('welcome', 'resend'), welcome('bad-key', 'resend-bad-key')],
      channels: [
        { key: 'resend', type: 'email', provider: 'resend', settings },
        { key: 'resend-bad-key', type: 'email', provider: 'resend', settings: { ...settings, api_key: 're_wrong_key_000' } },
      ],
    });
  });
  afterEach(async () => {
    await t.close();
    await resend.close();
  });

  it('sends the email as Resend expects it, with the idempotency key, and records its id', async () => {
    await triggerFor(t, 'welcome', { id: 'ada', email: 'ada@example.com', name: 'Ada' });
    const message = await onlyMessage(t, 'ada');
    expect(message.status).toBe('sent');
    expect(await eventTypes(t, message.id)).toEqual(['message.queued', 'message.sent']);

    expect(resend.requestCount).toBe(1);
    expect(resend.emails).toHaveLength(1);
    const [email] = resend.emails;
    expect(email.headers.authorization).toBe(`Bearer ${RESEND_KEY}`);
    expect(email.headers['content-type']).toMatch(/^application\/json/);
    expect(email.idempotencyKey).toBe(`herald-${message.id}`);
    expect(email.body).toEqual({
      from: '"Herald" <noreply@herald.test>',
      to: ['ada@example.com'],
      cc: ['audit@herald.test'],
      reply_to: ['support@herald.test'],
      subject: 'Welcome, Ada',
      html: '<p>Hello <b>Ada</b>, your code is &lt;42&gt;</p>',
      text: 'Hello Ada, your code is <42>',
      tags: [{ name: 'herald_message_id', value: message.id }],
    });

    expect(await externalId(t, message.id)).toEqual({ provider: 'resend', external_id: email.id });
    expect((await t.knock.messages.get(message.id)).metadata).toMatchObject({ provider: 'resend', external_id: email.id });
    const logs = await logsOf(t, message.id);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      service_name: 'resend',
      request: { method: 'POST', path: '/emails', headers: { Authorization: '[REDACTED]', 'Idempotency-Key': `herald-${message.id}` } },
      response: { status: 200, body: { id: email.id } },
    });
    const raw = await http(t, 'GET', `/v1/messages/${message.id}/delivery_logs`);
    expect(responseContract('GET', '/v1/messages/{message_id}/delivery_logs', 200).validate(raw.body)).toEqual([]);
    expect(JSON.stringify(raw.body)).not.toContain(RESEND_KEY);
    expect(JSON.stringify(await t.knock.messages.getContent(message.id))).not.toContain(RESEND_KEY);
  });

  it('a wrong API key is refused with Resend\'s 401 and the message is undelivered', async () => {
    await triggerFor(t, 'bad-key', { id: 'bo', email: 'bo@example.com', name: 'Bo' });
    const message = await onlyMessage(t, 'bo');
    expect(message.status).toBe('undelivered');
    t.clock.advance(60 * 60_000);
    await t.drain();
    expect(resend.requestCount).toBe(1);
    const logs = await logsOf(t, message.id);
    expect(logs.map((l) => [l.response.status, (l.response.body as any).name])).toEqual([[401, 'validation_error']]);
    expect(JSON.stringify(logs)).not.toContain('re_wrong_key_000');
  });

  it('retries a 429 rate_limit_exceeded after the backoff and then sends', async () => {
    resend.script = [FakeResend.error(429, 'rate_limit_exceeded', 'Too many requests. You can only make 2 requests per second.')];
    await triggerFor(t, 'welcome', { id: 'cy', email: 'cy@example.com', name: 'Cy' });
    const message = await onlyMessage(t, 'cy');
    expect(message.status).toBe('delivery_attempted');
    t.clock.advance(11_000);
    await t.drain();
    expect(resend.requestCount).toBe(1);
    t.clock.advance(8_000);
    await t.drain();
    expect(resend.requestCount).toBe(2);
    expect(resend.emails).toHaveLength(1);
    expect((await t.knock.messages.get(message.id)).status).toBe('sent');
    expect(await eventTypes(t, message.id)).toEqual(['message.queued', 'message.delivery_attempted', 'message.sent']);
    expect((await logsOf(t, message.id)).map((l) => l.response.status)).toEqual([429, 200]);
  });

  it('gives up at once on a 422 validation_error: undelivered', async () => {
    resend.script = [FakeResend.error(422, 'validation_error', 'The gmail.com domain is not verified.')];
    await triggerFor(t, 'welcome', { id: 'di', email: 'di@example.com', name: 'Di' });
    const message = await onlyMessage(t, 'di');
    expect(message.status).toBe('undelivered');
    expect(await eventTypes(t, message.id)).toEqual(['message.queued', 'message.undelivered']);
    t.clock.advance(60 * 60_000);
    await t.drain();
    expect(resend.requestCount).toBe(1);
    expect(resend.emails).toHaveLength(0);
  });

  it('an answer lost after Resend accepted the email: the retry carries the same key and ONE email exists', async () => {
    resend.script = [{ drop: 'after-accept' }];
    await triggerFor(t, 'welcome', { id: 'ed', email: 'ed@example.com', name: 'Ed' });
    const message = await onlyMessage(t, 'ed');
    // Resend created the email, but Herald never heard so: a retryable failure.
    expect(resend.emails).toHaveLength(1);
    expect(message.status).toBe('delivery_attempted');
    t.clock.advance(19_000);
    await t.drain();
    expect(resend.requestCount).toBe(2);
    expect(resend.requests.map((r) => r.headers['idempotency-key'])).toEqual([`herald-${message.id}`, `herald-${message.id}`]);
    expect(resend.requests[1].raw).toBe(resend.requests[0].raw);
    expect(resend.emails).toHaveLength(1);
    expect((await t.knock.messages.get(message.id)).status).toBe('sent');
    expect((await externalId(t, message.id)).external_id).toBe(resend.emails[0].id);
    const logs = await logsOf(t, message.id);
    expect(logs.map((l) => l.response.status)).toEqual([0, 200]);
    expect(logs[1].response.body).toEqual({ id: resend.emails[0].id });
  });

  it('409 concurrent_idempotent_requests is retried; 409 invalid_idempotent_request is final', async () => {
    resend.script = [FakeResend.error(409, 'concurrent_idempotent_requests', 'Same idempotency key used while original request is still in progress.')];
    await triggerFor(t, 'welcome', { id: 'fay', email: 'fay@example.com', name: 'Fay' });
    const fay = await onlyMessage(t, 'fay');
    expect(fay.status).toBe('delivery_attempted');
    t.clock.advance(19_000);
    await t.drain();
    expect((await t.knock.messages.get(fay.id)).status).toBe('sent');

    resend.script = [FakeResend.error(409, 'invalid_idempotent_request', 'This idempotency key has already been used on a request that had a different payload.')];
    await triggerFor(t, 'welcome', { id: 'gus', email: 'gus@example.com', name: 'Gus' });
    const gus = await onlyMessage(t, 'gus');
    expect(gus.status).toBe('undelivered');
    expect(resend.emails.map((e) => e.body.to)).toEqual([['fay@example.com']]);
  });

  it('skips the step with a recorded reason when the recipient has no email', async () => {
    await triggerFor(t, 'welcome', { id: 'nomail', name: 'No Mail' });
    expect(await skipReasons(t, 'welcome')).toEqual([['email', 'recipient has no email']]);
    expect(resend.requestCount).toBe(0);
  });
});

describe('the loopback Resend server keeps Resend\'s idempotency rules', () => {
  let resend: FakeResend;
  beforeEach(async () => { resend = await new FakeResend(RESEND_KEY).start(); });
  afterEach(() => resend.close());

  const post = (key: string, body: Record<string, unknown>) => fetch(`${resend.url}/emails`, {
    method: 'POST',
    headers: { authorization: `Bearer ${RESEND_KEY}`, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: await r.json() as Record<string, unknown> }));
  const email = { from: 'a@herald.test', to: ['b@example.com'], subject: 'Hi', text: 'Hi' };

  it('a repeat gets the first answer, another body a 409, a repeat in flight a 409 concurrent', async () => {
    const first = await post('k1', email);
    expect(first.status).toBe(200);
    expect(await post('k1', email)).toEqual(first);
    expect(await post('k1', { ...email, subject: 'Other' })).toMatchObject({ status: 409, body: { statusCode: 409, name: 'invalid_idempotent_request' } });
    expect(resend.emails).toHaveLength(1);

    resend.hold();
    const held = post('k2', email);
    await resend.waitForRequests(4);
    expect(await post('k2', email)).toMatchObject({ status: 409, body: { name: 'concurrent_idempotent_requests' } });
    expect(resend.held).toBe(1);
    resend.release();
    const second = await held;
    expect(second.status).toBe(200);
    expect(await post('k2', email)).toEqual(second);
    expect(resend.emails).toHaveLength(2);
    expect(resend.requestCount).toBe(6);
  });

  it('refuses tags outside Resend\'s charset; the provider sanitises them', async () => {
    expect(await post('k3', { ...email, tags: [{ name: 'herald_message_id', value: 'a.b/c' }] })).toMatchObject({ status: 422, body: { name: 'validation_error' } });
    expect(resendTagValue('a.b/c')).toBe('a_b_c');
    expect(addressList('"Doe, Jane" <j@x.test>, k@x.test')).toEqual(['"Doe, Jane" <j@x.test>', 'k@x.test']);
  });
});
