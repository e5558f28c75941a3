/**
 * SMS channel steps delivered through Twilio Programmable Messaging and the Vonage Messages API,
 * each a real HTTP server on loopback that checks requests as the provider does: the exact
 * request, statuses and events, delivery logs without secrets, retries after the backoff,
 * permanent failures, the recipient's number (`phone_number`, `settings.to_number`) and
 * failover from one provider to the other.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';
import { eventTypes, onlyMessage, skipReasons } from '../support/deliveries.js';
import { basicCredentials, FakeTwilio, FakeVonage } from '../support/providers/sms-servers.js';

const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = 'tw-auth-token-9f8e7d6c5b4a';
const API_KEY_SID = 'SK00112233445566778899aabbccddeeff';
const API_KEY_SECRET = 'tw-key-secret-a1b2c3d4e5';
const SERVICE_SID = 'MG0123456789abcdef0123456789abcdef';
const VONAGE_KEY = 'abcd1234';
const VONAGE_SECRET = 'vonage-secret-Zx9Yw8';

/** One SMS workflow per channel key; `to` adds `settings.to_number`. */
function smsWorkflow(key: string, channelKey: string, toNumber?: string) {
  return {
    key,
    name: key,
    steps: [{
      ref: 'sms',
      type: 'channel',
      channel_key: channelKey,
      template: { text_body: 'Hi {{ recipient.name }}, your code is {{ data.code }}', ...(toNumber ? { settings: { to_number: toNumber } } : {}) },
    }],
  };
}

async function identify(t: TestHerald, id: string, phone?: string) {
  await t.knock.users.update(id, { name: id.toUpperCase(), ...(phone ? { phone_number: phone } : {}) } as any);
}

async function trigger(t: TestHerald, workflow: string, user: string, data: Record<string, unknown> = { code: '4711' }) {
  await t.knock.workflows.trigger(workflow, { recipients: [user], data });
  await t.drain();
}

async function logsOf(t: TestHerald, messageId: string) {
  return (await t.knock.messages.listDeliveryLogs(messageId)).items;
}

/** The provider and its message id recorded on the message (not part of Knock's API). */
async function recorded(t: TestHerald, messageId: string) {
  const [row] = await t.db.query<{ provider: string | null; external_id: string | null }>('SELECT provider, external_id FROM messages WHERE id = $1', [messageId]);
  return row;
}

/** The retry after attempt 1 waits 15 s ± 20 %: nothing before 12 s, sent by 18 s. */
async function passFirstBackoff(t: TestHerald, attempts: () => number, before: number) {
  t.clock.advance(11_000);
  await t.drain();
  expect(attempts()).toBe(before);
  t.clock.advance(8_000);
  await t.drain();
}

describe.each(engines)('SMS through Twilio (%s)', (engine) => {
  let t: TestHerald;
  let twilio: FakeTwilio;
  beforeEach(async () => {
    twilio = await new FakeTwilio(ACCOUNT_SID, { [ACCOUNT_SID]: AUTH_TOKEN, [API_KEY_SID]: API_KEY_SECRET }).start();
    t = await startTestHerald(engine, {
      workflows: [smsWorkflow('otp', 'twilio-sms'), smsWorkflow('otp-service', 'twilio-service'), smsWorkflow('otp-bad-auth', 'twilio-bad-auth'),
        smsWorkflow('otp-to-number', 'twilio-sms', '{{ data.phone }}'), smsWorkflow('otp-no-sender', 'twilio-no-sender')],
      channels: [
        { key: 'twilio-no-sender', type: 'sms', provider: 'twilio', settings: { base_url: twilio.url, account_sid: ACCOUNT_SID, auth_token: AUTH_TOKEN } },
        { key: 'twilio-sms', type: 'sms', provider: 'twilio', settings: { base_url: twilio.url, account_sid: ACCOUNT_SID, auth_token: AUTH_TOKEN, from: '+15005550006' } },
        {
          key: 'twilio-service', type: 'sms', provider: 'twilio',
          settings: { base_url: twilio.url, account_sid: ACCOUNT_SID, api_key_sid: API_KEY_SID, api_key_secret: API_KEY_SECRET, messaging_service_sid: SERVICE_SID, status_callback: 'https://herald.example.com/twilio/status' },
        },
        { key: 'twilio-bad-auth', type: 'sms', provider: 'twilio', settings: { base_url: twilio.url, account_sid: ACCOUNT_SID, auth_token: 'not-the-token', phone_number: '+15005550006' } },
      ],
    });
  });
  afterEach(async () => {
    await t.close();
    await twilio.close();
  });

  it('posts the form-encoded message with the account credentials and records the Message sid', async () => {
    await identify(t, 'ada', '+14155550100');
    await trigger(t, 'otp', 'ada');
    const message = await onlyMessage(t, 'ada');
    expect(message.status).toBe('sent');
    expect(message.channel).toMatchObject({ key: 'twilio-sms', type: 'sms', provider: 'twilio' });
    expect(await eventTypes(t, message.id)).toEqual(['message.queued', 'message.sent']);

    expect(twilio.attempts).toBe(1);
    const [req] = twilio.requests;
    expect(req.path).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(basicCredentials(req.headers.authorization)).toEqual([ACCOUNT_SID, AUTH_TOKEN]);
    expect(twilio.messages).toEqual([{ To: '+14155550100', From: '+15005550006', Body: 'Hi ADA, your code is 4711' }]);
    expect(await recorded(t, message.id)).toEqual({ provider: 'twilio', external_id: twilio.sids[0] });

    const content = await t.knock.messages.getContent(message.id);
    expect(content.data).toEqual({ __typename: 'MessageSmsContent', to: '+14155550100', body: 'Hi ADA, your code is 4711' });

    const logs = await logsOf(t, message.id);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      service_name: 'twilio',
      request: { method: 'POST', path: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`, headers: { authorization: '[REDACTED]' } },
      response: { status: 201, body: { sid: twilio.sids[0], status: 'queued', to: '+14155550100' } },
    });
    expect(String(logs[0].request.body)).toContain('To=%2B14155550100');
    // The auth token is configuration only: neither it nor the Basic credentials show anywhere.
    const basic = req.headers.authorization!.slice('Basic '.length);
    for (const shown of [JSON.stringify(logs), JSON.stringify(content)]) {
      expect(shown).not.toContain(AUTH_TOKEN);
      expect(shown).not.toContain(basic);
    }
  });

  it('authenticates with an API key and sends through a Messaging Service with a status callback', async () => {
    await identify(t, 'bo', '+442071838750');
    await trigger(t, 'otp-service', 'bo');
    const message = await onlyMessage(t, 'bo');
    expect(message.status).toBe('sent');
    expect(basicCredentials(twilio.requests[0].headers.authorization)).toEqual([API_KEY_SID, API_KEY_SECRET]);
    expect(twilio.messages).toEqual([{ To: '+442071838750', MessagingServiceSid: SERVICE_SID, Body: 'Hi BO, your code is 4711', StatusCallback: 'https://herald.example.com/twilio/status' }]);
    const logs = await logsOf(t, message.id);
    expect(logs.map((l) => [l.response.status, (l.response.body as any).status])).toEqual([[201, 'accepted']]);
    expect(JSON.stringify(logs)).not.toContain(API_KEY_SECRET);
  });

  it('sends to the template\'s settings.to_number instead of the recipient\'s phone_number', async () => {
    await identify(t, 'cy', '+14155550100');
    await trigger(t, 'otp-to-number', 'cy', { code: '1', phone: '+13125550199' });
    const message = await onlyMessage(t, 'cy');
    expect(message.status).toBe('sent');
    expect(twilio.messages.map((m) => m.To)).toEqual(['+13125550199']);
    expect((await t.knock.messages.getContent(message.id)).data).toMatchObject({ to: '+13125550199' });
  });

  it('skips the step with its reason when the recipient has no phone_number', async () => {
    await identify(t, 'nophone');
    await trigger(t, 'otp', 'nophone');
    expect((await t.knock.users.listMessages('nophone')).items).toEqual([]);
    expect(await skipReasons(t, 'otp')).toEqual([['sms', 'recipient has no phone_number']]);
    expect(twilio.attempts).toBe(0);
  });

  it('retries a 429 (Twilio 20429) after the backoff: queued → delivery_attempted → sent', async () => {
    twilio.script = [FakeTwilio.error(429, 20429, 'Too Many Requests')];
    await identify(t, 'di', '+14155550101');
    await trigger(t, 'otp', 'di');
    const message = await onlyMessage(t, 'di');
    expect(message.status).toBe('delivery_attempted');
    expect(twilio.attempts).toBe(1);

    await passFirstBackoff(t, () => twilio.attempts, 1);
    expect(twilio.attempts).toBe(2);
    expect(twilio.messages).toHaveLength(1);
    expect((await t.knock.messages.get(message.id)).status).toBe('sent');
    expect(await eventTypes(t, message.id)).toEqual(['message.queued', 'message.delivery_attempted', 'message.sent']);
    const logs = await logsOf(t, message.id);
    expect(logs.map((l) => [l.response.status, (l.response.body as any).code ?? null])).toEqual([[201, null], [429, 20429]]);
    expect(JSON.stringify(logs)).not.toContain(AUTH_TOKEN);
  });

  it('gives up at once when Twilio rejects the To number (21211): undelivered', async () => {
    await identify(t, 'ed', '555-0100');
    await trigger(t, 'otp', 'ed');
    const message = await onlyMessage(t, 'ed');
    expect(message.status).toBe('undelivered');
    expect(await eventTypes(t, message.id)).toEqual(['message.queued', 'message.undelivered']);
    t.clock.advance(60 * 60_000);
    await t.drain();
    expect(twilio.attempts).toBe(1);
    expect(twilio.messages).toEqual([]);
    const logs = await logsOf(t, message.id);
    expect(logs.map((l) => [l.response.status, (l.response.body as any).code])).toEqual([[400, 21211]]);
  });

  it('gives up at once on wrong credentials (401, Twilio 20003): undelivered, the wrong token not logged', async () => {
    await identify(t, 'fay', '+14155550102');
    await trigger(t, 'otp-bad-auth', 'fay');
    const message = await onlyMessage(t, 'fay');
    expect(message.status).toBe('undelivered');
    t.clock.advance(60 * 60_000);
    await t.drain();
    expect(twilio.attempts).toBe(1);
    const logs = await logsOf(t, message.id);
    expect(logs.map((l) => [l.response.status, (l.response.body as any).code])).toEqual([[401, 20003]]);
    expect(JSON.stringify(logs)).not.toContain('not-the-token');
  });

  it('a channel without a sender is a permanent failure with a clear error, and nothing is sent', async () => {
    await identify(t, 'gus', '+14155550103');
    await trigger(t, 'otp-no-sender', 'gus');
    const message = await onlyMessage(t, 'gus');
    expect(message.status).toBe('undelivered');
    expect(twilio.attempts).toBe(0);
    const logs = await logsOf(t, message.id);
    expect(logs.map((l) => [l.response.status, l.response.body])).toEqual([[0, 'not sent: the twilio channel has no from (phone_number) or messaging_service_sid']]);
  });
});

describe.each(engines)('SMS through Vonage (%s)', (engine) => {
  let t: TestHerald;
  let vonage: FakeVonage;
  beforeEach(async () => {
    vonage = await new FakeVonage(VONAGE_KEY, VONAGE_SECRET).start();
    t = await startTestHerald(engine, {
      workflows: [smsWorkflow('otp', 'vonage-sms'), smsWorkflow('otp-alpha', 'vonage-alpha'), smsWorkflow('otp-bad-auth', 'vonage-bad-auth'),
        smsWorkflow('otp-to-number', 'vonage-sms', '{{ data.phone }}')],
      channels: [
        { key: 'vonage-sms', type: 'sms', provider: 'vonage', settings: { base_url: vonage.url, api_key: VONAGE_KEY, api_secret: VONAGE_SECRET, from: '+44 7700 900000' } },
        { key: 'vonage-alpha', type: 'sms', provider: 'vonage', settings: { base_url: vonage.url, api_key: VONAGE_KEY, api_secret: VONAGE_SECRET, from: 'Herald', webhook_url: 'https://herald.example.com/vonage/status' } },
        { key: 'vonage-bad-auth', type: 'sms', provider: 'vonage', settings: { base_url: vonage.url, api_key: VONAGE_KEY, api_secret: 'wrong-secret', phone_number: '447700900000' } },
      ],
    });
  });
  afterEach(async () => {
    await t.close();
    await vonage.close();
  });

  it('posts the JSON message with numbers without the + and the message id as client_ref, and records the message_uuid', async () => {
    await identify(t, 'ada', '+447700900123');
    await trigger(t, 'otp', 'ada');
    const message = await onlyMessage(t, 'ada');
    expect(message.status).toBe('sent');
    expect(message.channel).toMatchObject({ key: 'vonage-sms', type: 'sms', provider: 'vonage' });
    expect(await eventTypes(t, message.id)).toEqual(['message.queued', 'message.sent']);

    expect(vonage.attempts).toBe(1);
    const [req] = vonage.requests;
    expect(req.path).toBe('/v1/messages');
    expect(req.headers['content-type']).toBe('application/json');
    expect(basicCredentials(req.headers.authorization)).toEqual([VONAGE_KEY, VONAGE_SECRET]);
    expect(vonage.messages).toEqual([{ message_type: 'text', channel: 'sms', to: '447700900123', from: '447700900000', text: 'Hi ADA, your code is 4711', client_ref: message.id }]);
    expect(await recorded(t, message.id)).toEqual({ provider: 'vonage', external_id: vonage.uuids[0] });

    const content = await t.knock.messages.getContent(message.id);
    expect(content.data).toEqual({ __typename: 'MessageSmsContent', to: '+447700900123', body: 'Hi ADA, your code is 4711' });

    const logs = await logsOf(t, message.id);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      service_name: 'vonage',
      request: { method: 'POST', path: '/v1/messages', headers: { authorization: '[REDACTED]' }, body: { to: '447700900123', client_ref: message.id } },
      response: { status: 202, body: { message_uuid: vonage.uuids[0] } },
    });
    const basic = req.headers.authorization!.slice('Basic '.length);
    for (const shown of [JSON.stringify(logs), JSON.stringify(content)]) {
      expect(shown).not.toContain(VONAGE_SECRET);
      expect(shown).not.toContain(basic);
    }
  });

  it('sends from an alphanumeric sender id as is, with the status webhook_url', async () => {
    await identify(t, 'bo', '+1 (415) 555-0100');
    await trigger(t, 'otp-alpha', 'bo');
    const message = await onlyMessage(t, 'bo');
    expect(message.status).toBe('sent');
    expect(vonage.messages).toEqual([{
      message_type: 'text', channel: 'sms', to: '14155550100', from: 'Herald', text: 'Hi BO, your code is 4711', client_ref: message.id,
      webhook_url: 'https://herald.example.com/vonage/status',
    }]);
  });

  it('sends to the template\'s settings.to_number instead of the recipient\'s phone_number', async () => {
    await identify(t, 'cy', '+447700900123');
    await trigger(t, 'otp-to-number', 'cy', { code: '1', phone: '+33612345678' });
    expect((await onlyMessage(t, 'cy')).status).toBe('sent');
    expect(vonage.messages.map((m) => m.to)).toEqual(['33612345678']);
  });

  it('skips the step with its reason when the recipient has no phone_number', async () => {
    await identify(t, 'nophone');
    await trigger(t, 'otp', 'nophone');
    expect((await t.knock.users.listMessages('nophone')).items).toEqual([]);
    expect(await skipReasons(t, 'otp')).toEqual([['sms', 'recipient has no phone_number']]);
    expect(vonage.attempts).toBe(0);
  });

  it('retries a 503 after the backoff: queued → delivery_attempted → sent, with the same client_ref', async () => {
    vonage.script = [FakeVonage.problem(503, '#service-unavailable', 'Service Unavailable', 'The service is temporarily unavailable.')];
    await identify(t, 'di', '+447700900124');
    await trigger(t, 'otp', 'di');
    const message = await onlyMessage(t, 'di');
    expect(message.status).toBe('delivery_attempted');
    expect(vonage.attempts).toBe(1);

    await passFirstBackoff(t, () => vonage.attempts, 1);
    expect(vonage.attempts).toBe(2);
    expect(vonage.requests.map((r) => JSON.parse(r.raw).client_ref)).toEqual([message.id, message.id]);
    expect((await t.knock.messages.get(message.id)).status).toBe('sent');
    expect(await eventTypes(t, message.id)).toEqual(['message.queued', 'message.delivery_attempted', 'message.sent']);
    const logs = await logsOf(t, message.id);
    expect(logs.map((l) => l.response.status)).toEqual([202, 503]);
    expect((logs[1].response.body as any).title).toBe('Service Unavailable');
    expect(JSON.stringify(logs)).not.toContain(VONAGE_SECRET);
  });

  it('gives up at once when Vonage finds the number invalid (422 Invalid params): undelivered', async () => {
    await identify(t, 'ed', '+12');
    await trigger(t, 'otp', 'ed');
    const message = await onlyMessage(t, 'ed');
    expect(message.status).toBe('undelivered');
    expect(await eventTypes(t, message.id)).toEqual(['message.queued', 'message.undelivered']);
    t.clock.advance(60 * 60_000);
    await t.drain();
    expect(vonage.attempts).toBe(1);
    const logs = await logsOf(t, message.id);
    expect(logs.map((l) => [l.response.status, (l.response.body as any).title, (l.response.body as any).invalid_parameters?.map((p: any) => p.name)]))
      .toEqual([[422, 'Invalid params', ['to']]]);
  });

  it('gives up at once on wrong credentials (401): undelivered, the wrong secret not logged', async () => {
    await identify(t, 'fay', '+447700900125');
    await trigger(t, 'otp-bad-auth', 'fay');
    const message = await onlyMessage(t, 'fay');
    expect(message.status).toBe('undelivered');
    t.clock.advance(60 * 60_000);
    await t.drain();
    expect(vonage.attempts).toBe(1);
    const logs = await logsOf(t, message.id);
    expect(logs.map((l) => [l.response.status, (l.response.body as any).title])).toEqual([[401, 'Unauthorized']]);
    expect(JSON.stringify(logs)).not.toContain('wrong-secret');
  });
});

describe.each(engines)('SMS failover from Twilio to Vonage (%s)', (engine) => {
  let t: TestHerald;
  let twilio: FakeTwilio;
  let vonage: FakeVonage;
  beforeEach(async () => {
    twilio = await new FakeTwilio(ACCOUNT_SID, { [ACCOUNT_SID]: AUTH_TOKEN }).start();
    vonage = await new FakeVonage(VONAGE_KEY, VONAGE_SECRET).start();
    t = await startTestHerald(engine, {
      workflows: [smsWorkflow('otp', 'sms')],
      channels: [{
        key: 'sms', type: 'sms', provider: 'twilio',
        settings: { base_url: twilio.url, account_sid: ACCOUNT_SID, auth_token: AUTH_TOKEN, from: '+15005550006' },
        fallbacks: [{ provider: 'vonage', settings: { base_url: vonage.url, api_key: VONAGE_KEY, api_secret: VONAGE_SECRET, from: 'Herald' } }],
      }],
    });
  });
  afterEach(async () => {
    await t.close();
    await twilio.close();
    await vonage.close();
  });

  it('a Twilio outage (500) fails over to Vonage in the same attempt; both calls are logged without secrets', async () => {
    twilio.script = [FakeTwilio.error(500, 20500, 'An internal server error has occurred')];
    await identify(t, 'ada', '+14155550100');
    await trigger(t, 'otp', 'ada');
    const message = await onlyMessage(t, 'ada');
    expect(message.status).toBe('sent');
    expect(twilio.attempts).toBe(1);
    expect(twilio.messages).toEqual([]);
    expect(vonage.messages.map((m) => [m.to, m.from, m.client_ref])).toEqual([['14155550100', 'Herald', message.id]]);
    expect(await recorded(t, message.id)).toEqual({ provider: 'vonage', external_id: vonage.uuids[0] });
    const logs = await logsOf(t, message.id);
    expect(logs.map((l) => [l.service_name, l.response.status]).sort()).toEqual([['twilio', 500], ['vonage', 202]]);
    const shown = JSON.stringify(logs);
    expect(shown).not.toContain(AUTH_TOKEN);
    expect(shown).not.toContain(VONAGE_SECRET);
  });
});
