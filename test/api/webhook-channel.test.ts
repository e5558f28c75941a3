/**
 * The webhook (`http`) channel: a channel step whose template renders a request (method, URL,
 * headers, query parameters, body) that the `webhook` provider sends, signed with the channel's
 * signing key, to a real receiver on loopback. A 2xx answer makes the message `delivered`;
 * 5xx is retried after the backoff; other 4xx are final; a private address is refused unless
 * the channel allows private networks.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { responseContract } from '../support/openapi.js';
import { verifySignature, WebhookReceiver } from '../support/providers/webhook-server.js';

const SIGNING_KEY = 'whsec-4b9f0e2d7a';
const STATIC_AUTH = 'Bearer channel-static-secret-31c';

const hookStep = (channel: string, template: Record<string, unknown>) => ({ ref: 'hook', type: 'channel', channel_key: channel, template });

const workflows = [
  {
    key: 'order-placed', name: 'Order placed',
    steps: [hookStep('hooks', {
      method: 'put',
      url: '{{ data.base }}/orders/{{ data.order_id }}',
      headers: [{ key: 'X-Order-Id', value: '{{ data.order_id }}' }, { key: 'X-Source', value: 'herald' }],
      query_params: [{ key: 'user', value: '{{ recipient.id }}' }, { key: 'Plan', value: '{{ data.plan }}' }],
      body: '{"order": "{{ data.order_id }}", "name": "{{ recipient.name }}", "total": {{ data.total }}}',
    })],
  },
  { key: 'ping', name: 'Ping', steps: [hookStep('hooks', { url: '{{ data.base }}/ping' })] },
  { key: 'guarded', name: 'Guarded', steps: [hookStep('guarded-hooks', { url: '{{ data.base }}/ping' })] },
];

describe.each(engines)('webhook channel (%s)', (engine) => {
  let t: TestHerald;
  let receiver: WebhookReceiver;
  beforeEach(async () => {
    receiver = await new WebhookReceiver().start();
    t = await startTestHerald(engine, {
      workflows,
      // Herald's default: only the channel that sets allow_private_networks may reach the loopback receiver.
      outbound: { allowPrivateNetworks: false },
      channels: [
        { key: 'hooks', type: 'http', provider: 'webhook', settings: { signing_key: SIGNING_KEY, headers: { Authorization: STATIC_AUTH }, allow_private_networks: true, timeout_ms: 5_000 } },
        { key: 'guarded-hooks', type: 'http', provider: 'webhook', settings: { signing_key: SIGNING_KEY } },
      ],
    });
    await t.knock.users.update('ada', { name: 'Ada' } as any);
  });
  afterEach(async () => {
    await t.close();
    await receiver.close();
  });

  async function trigger(workflow: string, data: Record<string, unknown> = {}) {
    await t.knock.workflows.trigger(workflow, { recipients: ['ada'], data: { base: receiver.url, ...data } });
    await t.drain();
    const { items } = await t.knock.users.listMessages('ada');
    expect(items).toHaveLength(1);
    return items[0];
  }

  async function eventTypes(messageId: string) {
    return (await t.knock.messages.listEvents(messageId)).items.map((e) => e.type).reverse();
  }

  async function logsOf(messageId: string) {
    return (await t.knock.messages.listDeliveryLogs(messageId)).items.reverse();
  }

  it('sends the templated request, signed, and marks the message delivered on a 2xx', async () => {
    const before = Date.now();
    const message = await trigger('order-placed', { order_id: 'ord_77', plan: 'pro', total: 12.5 });
    expect(message.status).toBe('delivered');
    expect(await eventTypes(message.id)).toEqual(['message.queued', 'message.delivered']);

    expect(receiver.hooks).toHaveLength(1);
    const [hook] = receiver.hooks;
    expect(hook.method).toBe('PUT');
    expect(hook.path).toBe('/orders/ord_77');
    expect(hook.query).toEqual({ user: 'ada', Plan: 'pro' });
    expect(JSON.parse(hook.raw)).toEqual({ order: 'ord_77', name: 'Ada', total: 12.5 });
    expect(hook.headers).toMatchObject({
      'x-order-id': 'ord_77',
      'x-source': 'herald',
      authorization: STATIC_AUTH,
      'content-type': 'application/json',
      'idempotency-key': `herald-${message.id}`,
    });
    // The receiver recomputes the HMAC over the raw body with the shared key.
    const signedAt = verifySignature(hook, SIGNING_KEY);
    expect(signedAt).not.toBeNull();
    expect(signedAt!).toBeGreaterThanOrEqual(before);
    expect(verifySignature(hook, 'some-other-key')).toBeNull();
    expect(verifySignature({ ...hook, raw: hook.raw.replace('12.5', '99') }, SIGNING_KEY)).toBeNull();

    const content = await t.knock.messages.getContent(message.id);
    expect(content.data).toMatchObject({ method: 'PUT', url: `${receiver.url}/orders/ord_77`, query_params: { user: 'ada', Plan: 'pro' } });
    const logs = await logsOf(message.id);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      service_name: 'webhook',
      request: { method: 'PUT', path: '/orders/ord_77', headers: { authorization: '[REDACTED]', 'x-order-id': 'ord_77' }, body: { order: 'ord_77', total: 12.5 } },
      response: { status: 200, body: { ok: true } },
    });
    // Stored content is jsonb, which does not keep the parameters' order.
    expect(Object.fromEntries(new URLSearchParams(String(logs[0].request.query)))).toEqual({ user: 'ada', Plan: 'pro' });
    const raw = await http(t, 'GET', `/v1/messages/${message.id}/delivery_logs`);
    expect(responseContract('GET', '/v1/messages/{message_id}/delivery_logs', 200).validate(raw.body)).toEqual([]);
    for (const secret of ['channel-static-secret-31c', SIGNING_KEY]) {
      expect(JSON.stringify(raw.body)).not.toContain(secret);
      expect(JSON.stringify(content)).not.toContain(secret);
    }
  });

  it('a template without a body sends the default JSON payload describing the message', async () => {
    const message = await trigger('ping');
    expect(message.status).toBe('delivered');
    const [hook] = receiver.hooks;
    expect(hook.method).toBe('POST');
    expect(hook.path).toBe('/ping');
    expect(hook.headers['content-type']).toBe('application/json');
    expect(JSON.parse(hook.raw)).toEqual({
      message_id: message.id,
      idempotency_key: `herald-${message.id}`,
      workflow: 'ping',
      channel: { id: message.channel_id, key: 'hooks', type: 'http' },
      recipient: 'ada',
      tenant: null,
      data: { base: receiver.url },
      attempt: 1,
    });
    expect(verifySignature(hook, SIGNING_KEY)).not.toBeNull();
  });

  it('retries a 500 after the backoff with the same idempotency key, then delivered', async () => {
    receiver.script = [{ status: 500, body: { error: 'boom' } }];
    const message = await trigger('ping');
    expect(message.status).toBe('delivery_attempted');
    t.clock.advance(11_000);
    await t.drain();
    expect(receiver.hooks).toHaveLength(1);
    t.clock.advance(8_000);
    await t.drain();
    expect(receiver.hooks).toHaveLength(2);
    expect(receiver.hooks.map((h) => h.headers['idempotency-key'])).toEqual([`herald-${message.id}`, `herald-${message.id}`]);
    // The payload names the attempt, and each request is signed afresh.
    expect(receiver.hooks.map((h) => JSON.parse(h.raw).attempt)).toEqual([1, 2]);
    expect(receiver.hooks.every((h) => verifySignature(h, SIGNING_KEY) !== null)).toBe(true);
    expect((await t.knock.messages.get(message.id)).status).toBe('delivered');
    expect(await eventTypes(message.id)).toEqual(['message.queued', 'message.delivery_attempted', 'message.delivered']);
    expect((await logsOf(message.id)).map((l) => l.response.status)).toEqual([500, 200]);
  });

  it('a 404 is final: undelivered, never retried', async () => {
    receiver.script = [{ status: 404, body: 'no such hook' }];
    const message = await trigger('ping');
    expect(message.status).toBe('undelivered');
    expect(await eventTypes(message.id)).toEqual(['message.queued', 'message.undelivered']);
    t.clock.advance(60 * 60_000);
    await t.drain();
    expect(receiver.hooks).toHaveLength(1);
    const logs = await logsOf(message.id);
    expect(logs.map((l) => [l.response.status, l.response.body])).toEqual([[404, 'no such hook']]);
  });

  it('refuses a private address unless the channel sets allow_private_networks', async () => {
    const message = await trigger('guarded');
    expect(message.status).toBe('undelivered');
    t.clock.advance(60 * 60_000);
    await t.drain();
    expect(receiver.hooks).toHaveLength(0);
    const logs = await logsOf(message.id);
    expect(logs).toHaveLength(1);
    expect(logs[0].response.status).toBe(0);
    expect(String(logs[0].response.body)).toMatch(/refused to connect to 127\.0\.0\.1: it is a loopback address.*allow_private_networks/);
  });
});
