/**
 * Push channel steps delivered through FCM (HTTP v1 with a service-account OAuth token), APNs
 * (HTTP/2 with an ES256 provider token) and Expo, each a real loopback server that checks the
 * request as the provider does. One message covers every token of the recipient: one call per
 * token (one request for Expo), sent when any token is accepted, tokens the provider reports
 * unregistered removed from the recipient's channel data, retries after the backoff, permanent
 * failures, silent (data-only) pushes, and recipients without tokens skipped.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { eventTypes, onlyMessage, skipReasons } from '../support/deliveries.js';
import { FakeApns, FakeExpo, FakeFcm, selfSignedCert } from '../support/providers/push-servers.js';

const NO_TOKENS = 'recipient has no push tokens in its channel data for this channel';

function pushWorkflow(key: string, deliveryType: 'content' | 'silent') {
  return {
    key,
    name: key,
    steps: [{
      ref: 'push',
      type: 'channel',
      channel_key: 'mobile',
      template: { title: 'Hi {{ recipient.name }}', text_body: 'Order {{ data.order }} shipped', settings: { delivery_type: deliveryType } },
    }],
  };
}
const workflows = [pushWorkflow('shipped', 'content'), pushWorkflow('sync', 'silent')];
const DATA = { order: 42, meta: { gift: true } };

async function identify(t: TestHerald, user: string, tokens?: string[]) {
  await t.knock.users.update(user, { name: user[0].toUpperCase() + user.slice(1) } as any);
  if (tokens) await t.knock.users.setChannelData(user, 'mobile', { data: { tokens } } as any);
}

async function trigger(t: TestHerald, workflow: string, user: string) {
  await t.knock.workflows.trigger(workflow, { recipients: [user], data: DATA });
  await t.drain();
}

async function logsOf(t: TestHerald, messageId: string) {
  return (await t.knock.messages.listDeliveryLogs(messageId)).items;
}

async function tokensOf(t: TestHerald, user: string) {
  return ((await t.knock.users.getChannelData(user, 'mobile')).data as { tokens: string[] }).tokens;
}

/** What the API shows of a message and its channel: none of it may contain a secret. */
async function publicTraces(t: TestHerald, messageId: string) {
  const logs = await logsOf(t, messageId);
  const content = await t.knock.messages.getContent(messageId);
  const channels = await http(t, 'GET', '/v1/channels');
  return JSON.stringify([logs, content, channels.body]);
}

/** A line from the middle of a PEM: what would show if the key leaked, escaped or not. */
const pemLine = (pem: string) => pem.split('\n')[2];

/** The retry after attempt 1 waits 15 s ± 20 %: nothing before 12 s, retried by 18 s. */
async function passFirstBackoff(t: TestHerald, attempts: () => number, before: number) {
  t.clock.advance(11_000);
  await t.drain();
  expect(attempts()).toBe(before);
  t.clock.advance(8_000);
  await t.drain();
}

const byToken = <T extends { body: unknown }>(list: T[], tokenOf: (r: T) => string) => [...list].sort((a, b) => tokenOf(a).localeCompare(tokenOf(b)));

// ------------------------------------------------------------------------------------------ FCM

const fcmKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const FCM_PRIVATE_KEY = fcmKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const FCM_ACCOUNT = { projectId: 'herald-test', clientEmail: 'herald@herald-test.iam.gserviceaccount.com', publicKey: fcmKeys.publicKey };
const ADA_PHONE = 'fcm-ada-phone-0123456789abcdef';
const ADA_TABLET = 'fcm-ada-tablet-0123456789abcdef';

describe.each(engines)('push through FCM HTTP v1 (%s)', (engine) => {
  let t: TestHerald;
  let fcm: FakeFcm;
  afterEach(async () => {
    await t?.close();
    await fcm?.close();
  });

  async function start(privateKey = FCM_PRIVATE_KEY) {
    fcm = await new FakeFcm(FCM_ACCOUNT).start();
    t = await startTestHerald(engine, {
      workflows,
      channels: [{
        key: 'mobile', type: 'push', provider: 'fcm', name: 'Firebase',
        settings: {
          base_url: fcm.origin,
          // As Google's console downloads it: a JSON text.
          service_account: JSON.stringify({
            type: 'service_account', project_id: FCM_ACCOUNT.projectId, private_key_id: 'key-1',
            private_key: privateKey, client_email: FCM_ACCOUNT.clientEmail, token_uri: fcm.tokenUri,
          }),
        },
      }],
    });
  }

  it('gets an access token with a signed JWT, sends one message per token, and marks the message sent', async () => {
    await start();
    await identify(t, 'ada', [ADA_PHONE, ADA_TABLET]);
    await trigger(t, 'shipped', 'ada');
    const message = await onlyMessage(t, 'ada');
    expect(message.status).toBe('sent');
    expect(await eventTypes(t, message.id)).toEqual(['message.queued', 'message.sent']);

    // One token request, its assertion verified against the service account's public key.
    expect(fcm.tokenRequests).toHaveLength(1);
    const { claims, assertion } = fcm.tokenRequests[0];
    expect(claims).toMatchObject({ iss: FCM_ACCOUNT.clientEmail, aud: fcm.tokenUri, scope: 'https://www.googleapis.com/auth/firebase.messaging' });
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
    expect(decodeProtectedHeader(assertion)).toMatchObject({ alg: 'RS256', kid: 'key-1' });

    expect(fcm.sends).toHaveLength(2);
    const [accessToken] = [...fcm.issued];
    const sends = byToken(fcm.sends, (s) => (s.body as any).message.token);
    for (const [i, token] of [ADA_PHONE, ADA_TABLET].entries()) {
      expect(sends[i].path).toBe('/v1/projects/herald-test/messages:send');
      expect(sends[i].headers.authorization).toBe(`Bearer ${accessToken}`);
      expect(sends[i].headers['content-type']).toMatch(/^application\/json/);
      expect(sends[i].body).toEqual({
        message: {
          token,
          notification: { title: 'Hi Ada', body: 'Order 42 shipped' },
          // FCM data values are strings.
          data: { order: '42', meta: '{"gift":true}', knock_message_id: message.id },
        },
      });
    }

    const logs = await logsOf(t, message.id);
    expect(logs.map((l) => [l.service_name, l.request.path, l.response.status])).toEqual([
      ['fcm', '/v1/projects/herald-test/messages:send', 200],
      ['fcm', '/v1/projects/herald-test/messages:send', 200],
    ]);
    expect(logs.map((l) => (l.request.headers as any).authorization)).toEqual(['[REDACTED]', '[REDACTED]']);
    const traces = await publicTraces(t, message.id);
    expect(traces).not.toContain(accessToken);
    expect(traces).not.toContain(pemLine(FCM_PRIVATE_KEY));
    expect(traces).not.toContain(assertion);

    // The access token is reused for the next message.
    await trigger(t, 'shipped', 'ada');
    expect(fcm.sends).toHaveLength(4);
    expect(fcm.tokenRequests).toHaveLength(1);
  });

  it('sends a silent delivery as a data-only message with an APNs background push', async () => {
    await start();
    await identify(t, 'ada', [ADA_PHONE]);
    await trigger(t, 'sync', 'ada');
    const message = await onlyMessage(t, 'ada');
    expect(message.status).toBe('sent');
    expect(fcm.sends.map((s) => s.body)).toEqual([{
      message: {
        token: ADA_PHONE,
        data: { order: '42', meta: '{"gift":true}', knock_message_id: message.id },
        apns: { headers: { 'apns-push-type': 'background', 'apns-priority': '5' }, payload: { aps: { 'content-available': 1 } } },
      },
    }]);
  });

  it('removes unregistered and invalid tokens from the channel data and still sends to the others', async () => {
    await start();
    const gone = 'fcm-ada-old-phone-0123456789abcdef';
    fcm.unregistered.add(gone);
    await identify(t, 'ada', [ADA_PHONE, gone, 'not a token']);
    await trigger(t, 'shipped', 'ada');
    const message = await onlyMessage(t, 'ada');
    expect(message.status).toBe('sent');
    expect((await logsOf(t, message.id)).map((l) => l.response.status).sort()).toEqual([200, 400, 404]);
    expect(await tokensOf(t, 'ada')).toEqual([ADA_PHONE]);
  });

  it('gives up when every token is invalid: undelivered, and the tokens are removed', async () => {
    await start();
    const gone = 'fcm-bo-old-phone-0123456789abcdef';
    fcm.unregistered.add(gone);
    await identify(t, 'bo', [gone]);
    await trigger(t, 'shipped', 'bo');
    const message = await onlyMessage(t, 'bo');
    expect(message.status).toBe('undelivered');
    expect(await eventTypes(t, message.id)).toEqual(['message.queued', 'message.undelivered']);
    expect(await tokensOf(t, 'bo')).toEqual([]);
    t.clock.advance(60 * 60_000);
    await t.drain();
    expect(fcm.sends).toHaveLength(1);
  });

  it('retries a 503 after the backoff: queued → delivery_attempted → sent', async () => {
    await start();
    fcm.script = [503];
    await identify(t, 'cy', [ADA_PHONE]);
    await trigger(t, 'shipped', 'cy');
    const message = await onlyMessage(t, 'cy');
    expect(message.status).toBe('delivery_attempted');
    expect(fcm.sends).toHaveLength(1);
    await passFirstBackoff(t, () => fcm.sends.length, 1);
    expect(fcm.sends).toHaveLength(2);
    expect((await t.knock.messages.get(message.id)).status).toBe('sent');
    expect(await eventTypes(t, message.id)).toEqual(['message.queued', 'message.delivery_attempted', 'message.sent']);
    expect((await logsOf(t, message.id)).map((l) => l.response.status)).toEqual([200, 503]);
    expect(await tokensOf(t, 'cy')).toEqual([ADA_PHONE]);
  });

  it('on a 401 fetches a new access token and retries the call once', async () => {
    await start();
    await identify(t, 'di', [ADA_PHONE]);
    await trigger(t, 'shipped', 'di');
    expect(fcm.tokenRequests).toHaveLength(1);
    fcm.revokeAccessTokens();
    await t.knock.workflows.trigger('shipped', { recipients: ['di'], data: DATA });
    await t.drain();
    const { items } = await t.knock.users.listMessages('di');
    const latest = items[0];
    expect(latest.status).toBe('sent');
    expect(fcm.tokenRequests).toHaveLength(2);
    const logs = await logsOf(t, latest.id);
    expect(logs.map((l) => l.response.status)).toEqual([200, 401]);
    const [fresh] = [...fcm.issued];
    expect(fcm.sends.at(-1)!.headers.authorization).toBe(`Bearer ${fresh}`);
    expect(JSON.stringify(logs)).not.toContain(fresh);
  });

  it('a key Google does not accept is permanent: undelivered, nothing sent, the assertion redacted', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await start(other);
    await identify(t, 'ed', [ADA_PHONE]);
    await trigger(t, 'shipped', 'ed');
    const message = await onlyMessage(t, 'ed');
    expect(message.status).toBe('undelivered');
    expect(fcm.sends).toHaveLength(0);
    const logs = await logsOf(t, message.id);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ service_name: 'fcm', request: { path: '/token', body: 'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=[REDACTED]' }, response: { status: 400, body: { error: 'invalid_grant' } } });
    expect(await publicTraces(t, message.id)).not.toContain(pemLine(other));
  });

  it('skips the step when the recipient has no push tokens', async () => {
    await start();
    await identify(t, 'fay');
    await trigger(t, 'shipped', 'fay');
    expect((await t.knock.users.listMessages('fay')).items).toEqual([]);
    expect(await skipReasons(t, 'shipped')).toEqual([['push', NO_TOKENS]]);
    expect(fcm.sends).toHaveLength(0);
    expect(fcm.tokenRequests).toHaveLength(0);
  });
});

// ----------------------------------------------------------------------------------------- APNs

const apnsKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const APNS_P8 = apnsKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const APNS_ACCOUNT = { teamId: 'TEAM123456', keyId: 'KEY9876543', bundleId: 'com.herald.app', publicKey: apnsKeys.publicKey };
const IPHONE = 'a1'.repeat(32);
const IPAD = 'b2'.repeat(32);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function verifiedApnsJwt(authorization: string, publicKey: KeyObject) {
  expect(authorization).toMatch(/^bearer /);
  const jwt = authorization.slice(7);
  expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'ES256', kid: APNS_ACCOUNT.keyId });
  const { payload } = await jwtVerify(jwt, publicKey, { algorithms: ['ES256'], issuer: APNS_ACCOUNT.teamId });
  expect(Object.keys(payload).sort()).toEqual(['iat', 'iss']);
  return jwt;
}

describe.each(engines)('push through APNs over HTTP/2 (%s)', (engine) => {
  let t: TestHerald;
  let apns: FakeApns;
  let tlsPair: { key: string; cert: string };
  beforeAll(() => { tlsPair = selfSignedCert(); });
  afterEach(async () => {
    await t?.close();
    await apns?.close();
  });

  async function start(privateKey = APNS_P8) {
    apns = await new FakeApns(APNS_ACCOUNT, tlsPair).start();
    t = await startTestHerald(engine, {
      workflows,
      channels: [{
        key: 'mobile', type: 'push', provider: 'apns', name: 'APNs',
        settings: {
          base_url: apns.origin, ca: tlsPair.cert, team_id: APNS_ACCOUNT.teamId, key_id: APNS_ACCOUNT.keyId,
          private_key: privateKey, bundle_id: APNS_ACCOUNT.bundleId,
        },
      }],
    });
  }

  it('sends an alert per device token with a signed provider token, and marks the message sent', async () => {
    await start();
    await identify(t, 'ada', [IPHONE, IPAD]);
    await trigger(t, 'shipped', 'ada');
    const message = await onlyMessage(t, 'ada');
    expect(message.status).toBe('sent');
    expect(await eventTypes(t, message.id)).toEqual(['message.queued', 'message.sent']);

    expect(apns.received).toHaveLength(2);
    const received = byToken(apns.received, (r) => r.path);
    const jwts: string[] = [];
    for (const [i, token] of [IPHONE, IPAD].entries()) {
      const r = received[i];
      expect(r.path).toBe(`/3/device/${token}`);
      expect(r.headers).toMatchObject({ 'apns-topic': 'com.herald.app', 'apns-push-type': 'alert', 'apns-priority': '10' });
      expect(r.headers['apns-id']).toMatch(UUID);
      expect(r.body).toEqual({ aps: { alert: { title: 'Hi Ada', body: 'Order 42 shipped' } }, order: 42, meta: { gift: true }, knock_message_id: message.id });
      jwts.push(await verifiedApnsJwt(r.headers.authorization, apnsKeys.publicKey));
    }
    // One provider token for both pushes; one apns-id per token.
    expect(jwts[0]).toBe(jwts[1]);
    expect(received[0].headers['apns-id']).not.toBe(received[1].headers['apns-id']);

    const logs = await logsOf(t, message.id);
    expect(logs.map((l) => [l.service_name, l.response.status]).sort()).toEqual([['apns', 200], ['apns', 200]]);
    expect(logs.map((l) => (l.request.headers as any)['apns-id']).sort()).toEqual(received.map((r) => r.headers['apns-id']).sort());
    expect(logs.map((l) => (l.request.headers as any).authorization)).toEqual(['[REDACTED]', '[REDACTED]']);
    const traces = await publicTraces(t, message.id);
    expect(traces).not.toContain(jwts[0]);
    expect(traces).not.toContain(pemLine(APNS_P8));
  });

  it('sends a silent delivery as a background push with content-available', async () => {
    await start();
    await identify(t, 'ada', [IPHONE]);
    await trigger(t, 'sync', 'ada');
    const message = await onlyMessage(t, 'ada');
    expect(message.status).toBe('sent');
    expect(apns.received).toHaveLength(1);
    expect(apns.received[0].headers).toMatchObject({ 'apns-push-type': 'background', 'apns-priority': '5' });
    expect(apns.received[0].body).toEqual({ aps: { 'content-available': 1 }, order: 42, meta: { gift: true }, knock_message_id: message.id });
  });

  it('removes Unregistered (410) and BadDeviceToken (400) tokens from the channel data', async () => {
    await start();
    const uninstalled = 'c3'.repeat(32);
    apns.unregistered.add(uninstalled);
    await identify(t, 'bo', [IPHONE, uninstalled, 'not-hex']);
    await trigger(t, 'shipped', 'bo');
    const message = await onlyMessage(t, 'bo');
    expect(message.status).toBe('sent');
    expect((await logsOf(t, message.id)).map((l) => [l.response.status, (l.response.body as any)?.reason ?? '']).sort())
      .toEqual([[200, ''], [400, 'BadDeviceToken'], [410, 'Unregistered']]);
    expect(await tokensOf(t, 'bo')).toEqual([IPHONE]);
  });

  it('retries a 503 with the same apns-id after the backoff, then sends', async () => {
    await start();
    apns.script = [503];
    await identify(t, 'cy', [IPHONE]);
    await trigger(t, 'shipped', 'cy');
    const message = await onlyMessage(t, 'cy');
    expect(message.status).toBe('delivery_attempted');
    await passFirstBackoff(t, () => apns.received.length, 1);
    expect(apns.received).toHaveLength(2);
    expect((await t.knock.messages.get(message.id)).status).toBe('sent');
    expect(await eventTypes(t, message.id)).toEqual(['message.queued', 'message.delivery_attempted', 'message.sent']);
    expect(apns.received[1].headers['apns-id']).toBe(apns.received[0].headers['apns-id']);
    expect((await logsOf(t, message.id)).map((l) => l.response.status)).toEqual([200, 503]);
  });

  it('a retry goes only to the tokens the recipient still has', async () => {
    await start();
    apns.script = [503, 503];
    await identify(t, 'di', [IPHONE, IPAD]);
    await trigger(t, 'shipped', 'di');
    const message = await onlyMessage(t, 'di');
    expect(message.status).toBe('delivery_attempted');
    // The app removes the iPhone's token before the retry.
    await t.knock.users.setChannelData('di', 'mobile', { data: { tokens: [IPAD] } } as any);
    await passFirstBackoff(t, () => apns.received.length, 2);
    expect(apns.received.slice(2).map((r) => r.path)).toEqual([`/3/device/${IPAD}`]);
    expect((await t.knock.messages.get(message.id)).status).toBe('sent');
  });

  it('a provider token signed with the wrong key is refused (403): undelivered, not retried', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await start(other);
    await identify(t, 'di', [IPHONE]);
    await trigger(t, 'shipped', 'di');
    const message = await onlyMessage(t, 'di');
    expect(message.status).toBe('undelivered');
    expect(await eventTypes(t, message.id)).toEqual(['message.queued', 'message.undelivered']);
    t.clock.advance(60 * 60_000);
    await t.drain();
    expect(apns.received).toHaveLength(1);
    const logs = await logsOf(t, message.id);
    expect(logs.map((l) => [l.response.status, (l.response.body as any).reason])).toEqual([[403, 'InvalidProviderToken']]);
    expect(await tokensOf(t, 'di')).toEqual([IPHONE]);
  });

  it('skips the step when the recipient has no push tokens', async () => {
    await start();
    await identify(t, 'ed');
    await trigger(t, 'shipped', 'ed');
    expect((await t.knock.users.listMessages('ed')).items).toEqual([]);
    expect(await skipReasons(t, 'shipped')).toEqual([['push', NO_TOKENS]]);
    expect(apns.received).toHaveLength(0);
  });
});

// ----------------------------------------------------------------------------------------- Expo

const EXPO_ACCESS_TOKEN = 'expo-access-token-Q1w2E3r4T5y6';
const EXPO_PHONE = 'ExponentPushToken[ada-phone-xxxxxxxx]';
const EXPO_TABLET = 'ExponentPushToken[ada-tablet-yyyyyyy]';

describe.each(engines)('push through Expo (%s)', (engine) => {
  let t: TestHerald;
  let expo: FakeExpo;
  afterEach(async () => {
    await t?.close();
    await expo?.close();
  });

  async function start(accessToken = EXPO_ACCESS_TOKEN) {
    expo = await new FakeExpo(EXPO_ACCESS_TOKEN).start();
    t = await startTestHerald(engine, {
      workflows,
      channels: [{ key: 'mobile', type: 'push', provider: 'expo', name: 'Expo', settings: { base_url: expo.origin, access_token: accessToken } }],
    });
  }

  it('sends one request with a message per token and the access token, and marks the message sent', async () => {
    await start();
    await identify(t, 'ada', [EXPO_PHONE, EXPO_TABLET]);
    await trigger(t, 'shipped', 'ada');
    const message = await onlyMessage(t, 'ada');
    expect(message.status).toBe('sent');
    expect(await eventTypes(t, message.id)).toEqual(['message.queued', 'message.sent']);

    expect(expo.received).toHaveLength(1);
    expect(expo.received[0].headers.authorization).toBe(`Bearer ${EXPO_ACCESS_TOKEN}`);
    expect(expo.received[0].headers['content-type']).toBe('application/json');
    const data = { order: 42, meta: { gift: true }, knock_message_id: message.id };
    expect(expo.received[0].body).toEqual([
      { to: EXPO_PHONE, title: 'Hi Ada', body: 'Order 42 shipped', data, sound: 'default' },
      { to: EXPO_TABLET, title: 'Hi Ada', body: 'Order 42 shipped', data, sound: 'default' },
    ]);

    const logs = await logsOf(t, message.id);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ service_name: 'expo', request: { path: '/--/api/v2/push/send', headers: { authorization: '[REDACTED]' } }, response: { status: 200 } });
    expect((logs[0].response.body as any).data.map((d: any) => d.status)).toEqual(['ok', 'ok']);
    expect(await publicTraces(t, message.id)).not.toContain(EXPO_ACCESS_TOKEN);
  });

  it('sends a silent delivery as data only with _contentAvailable', async () => {
    await start();
    await identify(t, 'ada', [EXPO_PHONE]);
    await trigger(t, 'sync', 'ada');
    const message = await onlyMessage(t, 'ada');
    expect(message.status).toBe('sent');
    expect(expo.received[0].body).toEqual([{ to: EXPO_PHONE, data: { order: 42, meta: { gift: true }, knock_message_id: message.id }, _contentAvailable: true }]);
  });

  it('removes DeviceNotRegistered tokens from the channel data', async () => {
    await start();
    const gone = 'ExponentPushToken[bo-old-phone-zzzz]';
    expo.unregistered.add(gone);
    await identify(t, 'bo', [gone, EXPO_PHONE]);
    await trigger(t, 'shipped', 'bo');
    const message = await onlyMessage(t, 'bo');
    expect(message.status).toBe('sent');
    expect(await tokensOf(t, 'bo')).toEqual([EXPO_PHONE]);

    // With only unregistered tokens left, the message is undelivered and the tokens are gone.
    expo.unregistered.add(EXPO_PHONE);
    await t.knock.workflows.trigger('shipped', { recipients: ['bo'], data: DATA });
    await t.drain();
    const latest = (await t.knock.users.listMessages('bo')).items[0];
    expect(latest.status).toBe('undelivered');
    expect(await tokensOf(t, 'bo')).toEqual([]);
  });

  it('retries a 429 after the backoff, then sends', async () => {
    await start();
    expo.script = [429];
    await identify(t, 'cy', [EXPO_PHONE]);
    await trigger(t, 'shipped', 'cy');
    const message = await onlyMessage(t, 'cy');
    expect(message.status).toBe('delivery_attempted');
    await passFirstBackoff(t, () => expo.received.length, 1);
    expect(expo.received).toHaveLength(2);
    expect((await t.knock.messages.get(message.id)).status).toBe('sent');
    expect(await eventTypes(t, message.id)).toEqual(['message.queued', 'message.delivery_attempted', 'message.sent']);
    expect((await logsOf(t, message.id)).map((l) => l.response.status)).toEqual([200, 429]);
  });

  it('a wrong access token is refused (401): undelivered, not retried', async () => {
    await start('expo-wrong-token-000000');
    await identify(t, 'di', [EXPO_PHONE]);
    await trigger(t, 'shipped', 'di');
    const message = await onlyMessage(t, 'di');
    expect(message.status).toBe('undelivered');
    t.clock.advance(60 * 60_000);
    await t.drain();
    expect(expo.received).toHaveLength(1);
    const logs = await logsOf(t, message.id);
    expect(logs.map((l) => l.response.status)).toEqual([401]);
    expect(await publicTraces(t, message.id)).not.toContain('expo-wrong-token-000000');
  });

  it('skips the step when the recipient has no push tokens', async () => {
    await start();
    await identify(t, 'ed');
    await trigger(t, 'shipped', 'ed');
    expect((await t.knock.users.listMessages('ed')).items).toEqual([]);
    expect(await skipReasons(t, 'shipped')).toEqual([['push', NO_TOKENS]]);
    expect(expo.received).toHaveLength(0);
  });
});
