/**
 * Environments as Knock has them: development and production, each with its own keys and its
 * own data, served by one Herald on one port. The request's key decides the environment.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Knock from '@knocklabs/node';
import WebSocket from 'ws';
import KnockMgmt from '@knocklabs/mgmt';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';
import { FakeTwilio } from '../support/providers/sms-servers.js';

const hello = { key: 'hello', name: 'Hello', steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hi {{ recipient.id }}' } }] };

describe.each(engines)('environments (%s)', { timeout: 120_000 }, (engine) => {
  let t: TestHerald;
  afterEach(async () => { await t.close(); });

  const start = async () => {
    t = await startTestHerald(engine, { workflows: [hello], environments: ['development', 'production'] });
    const [development, production] = t.herald.environments;
    const client = (apiKey: string) => new Knock({ apiKey, baseURL: t.url, maxRetries: 0 });
    return {
      development, production,
      dev: client(development.keys.secret),
      prod: client(production.keys.secret),
      mgmt: new KnockMgmt({ serviceToken: t.herald.serviceToken.token!, baseURL: `${t.url}/mgmt`, maxRetries: 0 }),
    };
  };

  it('gives each environment its own keys, and the first one the keys Herald had before', async () => {
    const { development, production } = await start();
    expect(development.slug).toBe('development');
    expect(production.slug).toBe('production');
    expect(development.keys.secret).toBe(t.secretKey);
    expect(production.keys.secret).toMatch(/^sk_/);
    expect(production.keys.secret).not.toBe(development.keys.secret);
    expect(production.keys.public).not.toBe(development.keys.public);
  });

  it('keeps users, runs and messages apart: a trigger with one key is invisible to the other', async () => {
    const { dev, prod } = await start();
    await dev.users.update('ada', { name: 'Ada (dev)' });
    await prod.users.update('ada', { name: 'Ada (prod)' });
    expect((await dev.users.get('ada')).name).toBe('Ada (dev)');
    expect((await prod.users.get('ada')).name).toBe('Ada (prod)');
    await dev.users.update('grace', {});
    await expect(prod.users.get('grace')).rejects.toMatchObject({ status: 404 });

    const run = await prod.workflows.trigger('hello', { recipients: ['ada'] });
    await t.drain();
    const prodMessages = (await prod.messages.list()).items;
    expect(prodMessages).toHaveLength(1);
    expect(prodMessages[0]).toMatchObject({ workflow: 'hello', recipient: 'ada', source: { key: 'hello' } });
    expect((await dev.messages.list()).items).toHaveLength(0);
    expect((await prod.workflowRecipientRuns.list({ workflow: 'hello' })).items.map((r) => r.workflow_run_id)).toEqual([run.workflow_run_id]);
    expect((await dev.workflowRecipientRuns.list({ workflow: 'hello' })).items).toHaveLength(0);
  });

  it('answers a browser client with the public key of its environment, and sockets too', async () => {
    const { production, prod } = await start();
    await prod.workflows.trigger('hello', { recipients: ['ada'] });
    await t.drain();
    const feed = await fetch(`${t.url}/v1/users/ada/feeds/in-app-feed`, { headers: { authorization: `Bearer ${production.keys.public}` } });
    expect(feed.status).toBe(200);
    expect((await feed.json()).entries).toHaveLength(1);
    const devFeed = await fetch(`${t.url}/v1/users/ada/feeds/in-app-feed`, { headers: { authorization: `Bearer ${t.publicKey}` } });
    expect((await devFeed.json()).entries).toHaveLength(0);
    // The SSE stream takes the key in the URL (EventSource): production's key opens production's stream.
    const ac = new AbortController();
    const stream = await fetch(`${t.url}/v1/users/ada/feeds/in-app-feed/stream?api_key=${production.keys.public}`, { signal: ac.signal });
    expect(stream.status).toBe(200);
    ac.abort();
    const wrong = await fetch(`${t.url}/v1/users/ada/feeds/in-app-feed/stream?api_key=pk_not_a_key`);
    expect(wrong.status).toBe(401);
  });

  it('opens a realtime socket with production\'s public key on production\'s feed, which pushes production\'s messages', async () => {
    const { production, prod } = await start();
    const url = (key: string) => `${t.url.replace('http', 'ws')}/ws/v1/websocket?api_key=${key}&vsn=2.0.0`;
    const refused = new WebSocket(url('pk_not_a_key'));
    expect(await new Promise<number | undefined>((resolve) => refused.on('unexpected-response', (_req, res) => resolve(res.statusCode)))).toBe(401);

    const socket = new WebSocket(url(production.keys.public));
    const frames: unknown[][] = [];
    socket.on('message', (d) => frames.push(JSON.parse(String(d)) as unknown[]));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify(['1', '1', 'feeds:in-app-feed:ada', 'phx_join', { r1: {} }]));
    for (let i = 0; i < 100 && frames.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(frames[0]).toEqual(['1', '1', 'feeds:in-app-feed:ada', 'phx_reply', { status: 'ok', response: {} }]);
    await prod.workflows.trigger('hello', { recipients: ['ada'] });
    await t.drain();
    for (let i = 0; i < 200 && frames.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    socket.close();
    expect(frames[1]?.[2]).toBe('feeds:in-app-feed:ada');
    expect(frames[1]?.[3]).not.toBe('phx_reply');
  });

  it('runs the workflows folder as committed content of every environment', async () => {
    const { mgmt } = await start();
    for (const environment of ['development', 'production']) {
      expect((await mgmt.workflows.retrieve('hello', { environment })).key).toBe('hello');
    }
  });

  it('lists the environments and exchanges the service token for an environment\'s secret key', async () => {
    const { mgmt, production, dev } = await start();
    const list = await mgmt.environments.list();
    expect(list.entries.map((e) => [e.slug, e.name, e.order, e.owner])).toEqual([['development', 'Development', 0, 'system'], ['production', 'Production', 1, 'system']]);
    expect(Date.parse(list.entries[1].created_at)).not.toBeNaN();
    expect((await mgmt.environments.retrieve('production')).slug).toBe('production');
    await expect(mgmt.environments.retrieve('staging')).rejects.toMatchObject({ status: 404 });
    expect((await mgmt.apiKeys.exchange({ environment: 'production' })).api_key).toBe(production.keys.secret);
    expect((await mgmt.apiKeys.exchange({ environment: 'development' })).api_key).toBe(t.secretKey);
    await expect(mgmt.apiKeys.exchange({ environment: 'staging' })).rejects.toMatchObject({ status: 422 });
    // An exchanged key is an ordinary secret key of its environment; API keys still cannot call /mgmt.
    const exchanged = new Knock({ apiKey: (await mgmt.apiKeys.exchange({ environment: 'production' })).api_key, baseURL: t.url, maxRetries: 0 });
    await exchanged.users.update('linus', {});
    await expect(dev.users.get('linus')).rejects.toMatchObject({ status: 404 });
    const refused = await fetch(`${t.url}/mgmt/v1/environments`, { headers: { authorization: `Bearer ${production.keys.secret}` } });
    expect(refused.status).toBe(401);
  });
});

describe.each(engines)('environments: provider status webhooks (%s)', { timeout: 120_000 }, (engine) => {
  const sid = 'AC00000000000000000000000000000002';
  let t: TestHerald;
  let twilio: FakeTwilio;
  afterEach(async () => { await t.close(); await twilio.close(); });

  it('a webhook naming ?environment=production updates production\'s message; without it, the first environment is searched', async () => {
    twilio = await new FakeTwilio(sid, { [sid]: 'twilio-token' }).start();
    t = await startTestHerald(engine, {
      environments: ['development', 'production'],
      workflows: [{ key: 'sms', name: 'SMS', steps: [{ ref: 'sms', type: 'channel', channel_key: 'texts', template: { text_body: 'Code 1' } }] }],
      channels: [{ key: 'texts', type: 'sms', provider: 'twilio', settings: { base_url: twilio.url, account_sid: sid, auth_token: 'twilio-token', from: '+15005550006', inbound_webhook_token: 'inbound-token-1' } }],
    });
    const prod = new Knock({ apiKey: t.herald.environments[1].keys.secret, baseURL: t.url, maxRetries: 0 });
    await prod.users.update('ada', { phone_number: '+14155550100' } as never);
    await prod.workflows.trigger('sms', { recipients: ['ada'] });
    await t.drain();
    const [message] = (await prod.messages.list()).items;
    expect(message.status).toBe('sent');
    const form = new URLSearchParams({ MessageSid: twilio.sids[0], MessageStatus: 'delivered', AccountSid: sid }).toString();
    const post = (query: string) => fetch(`${t.url}/v1/channels/texts/provider_webhooks/twilio?token=inbound-token-1${query}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
    expect(await (await post('')).json()).toEqual({ matched: 1, updated: 0 });
    expect(await (await post('&environment=production')).json()).toEqual({ matched: 1, updated: 1 });
    expect((await prod.messages.get(message.id)).status).toBe('delivered');
    expect((await post('&environment=staging')).status).toBe(422);
  });
});

