/**
 * The management API (/mgmt) through the unchanged @knocklabs/mgmt client on loopback: the
 * service token from Herald's first start, whoami, workflows list/retrieve, and the scopes
 * (an API key cannot call /mgmt; a service token cannot call the public API's data routes).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import KnockMgmt from '@knocklabs/mgmt';
import { createHerald } from '../../src/herald.js';
import { rotateServiceToken } from '../../src/store/service-tokens.js';
import { engines, http, openTestDb, startTestHerald, type TestHerald } from '../support/harness.js';

const feed = { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hi **{{ recipient.name }}**' } };
const welcome = {
  key: 'welcome', name: 'Welcome', categories: ['onboarding'],
  steps: [{ ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'hours', value: 1 } } }, feed],
};
const digest = {
  key: 'digest', name: 'Digest',
  steps: [
    { ref: 'collect', type: 'batch', settings: { batch_window: { unit: 'minutes', value: 5 } } },
    { ref: 'pick', type: 'branch', branches: [{ name: 'Default', steps: [{ ...feed, ref: 'feed_in_branch' }] }] },
  ],
};
const alerts = { key: 'alerts', name: 'Alerts', steps: [feed] };

describe.each(engines)('management API through @knocklabs/mgmt (%s)', (engine) => {
  let t: TestHerald;
  afterEach(async () => { await t.close(); });

  const start = async (environments?: string[]) => {
    t = await startTestHerald(engine, { workflows: [welcome, digest, alerts], environments });
    const serviceToken = t.herald.serviceToken.token!;
    return new KnockMgmt({ serviceToken, baseURL: `${t.url}/mgmt`, maxRetries: 0 });
  };

  it('generates a service token on first start and answers whoami as Knock does', async () => {
    const mgmt = await start();
    expect(t.herald.serviceToken.generated).toBe(true);
    expect(t.herald.serviceToken.token).toMatch(/^knock_st_/);
    const me = await mgmt.auth.verify();
    expect(me).toMatchObject({ type: 'service_token', service_token_name: 'herald', account_slug: 'herald', user_id: null });
    expect(me.account_features?.translations_allowed).toBe(true);
  });

  it('lists workflows by key in Knock\'s mgmt shape and pages through them', async () => {
    const mgmt = await start();
    const first = await mgmt.workflows.list({ environment: 'development', limit: 2 });
    expect(first.entries.map((w) => w.key)).toEqual(['alerts', 'digest']);
    // The client types only `after`; Knock's PageInfo (and Herald's) carries before and page_size too.
    const info = (page: { page_info: unknown }) => page.page_info as { after: string | null; before: string | null; page_size: number };
    expect(info(first)).toMatchObject({ page_size: 2, before: null, after: expect.any(String) });
    const second = await mgmt.workflows.list({ environment: 'development', limit: 2, after: info(first).after! });
    expect(second.entries.map((w) => w.key)).toEqual(['welcome']);
    expect(info(second).after).toBeNull();
    const back = await mgmt.workflows.list({ environment: 'development', limit: 2, before: info(second).before! });
    expect(back.entries.map((w) => w.key)).toEqual(['alerts', 'digest']);
    // The client's own auto-pagination follows Herald's cursors to the end.
    const keys: string[] = [];
    for await (const w of mgmt.workflows.list({ environment: 'development', limit: 1 })) keys.push(w.key);
    expect(keys).toEqual(['alerts', 'digest', 'welcome']);
  });

  it('retrieves one workflow with its steps mapped to Knock\'s step shapes', async () => {
    const mgmt = await start(['development', 'production']);
    const wf = await mgmt.workflows.retrieve('digest', { environment: 'production' });
    expect(wf).toMatchObject({ key: 'digest', name: 'Digest', active: true, valid: true, environment: 'production', categories: [] });
    expect(wf.sha).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(wf.created_at)).not.toBeNaN();
    expect(wf.steps[0]).toEqual({ ref: 'collect', type: 'batch', name: null, description: null, conditions: null, settings: { batch_window: { unit: 'minutes', value: 5 } } });
    const branch = wf.steps[1] as unknown as { branches: { name: string; conditions: unknown; terminates: boolean; steps: Record<string, unknown>[] }[] };
    expect(branch.branches[0]).toMatchObject({ name: 'Default', conditions: null, terminates: false });
    // The channel type comes from the configured channel when the step does not name it.
    expect(branch.branches[0].steps[0]).toMatchObject({ ref: 'feed_in_branch', type: 'channel', channel_key: 'in-app-feed', channel_type: 'in_app_feed', channel_group_key: null, template: feed.template });
  });

  it('requires a known environment and answers an unknown workflow with 404 in Knock\'s error shape', async () => {
    await start();
    const auth = { authorization: `Bearer ${t.herald.serviceToken.token}` };
    const missing = await http(t, 'GET', '/mgmt/v1/workflows', undefined, auth);
    expect(missing.status).toBe(422);
    expect(missing.body).toMatchObject({ code: 'invalid_params', status: 422, type: 'invalid_request_error' });
    const unknown = await http(t, 'GET', '/mgmt/v1/workflows?environment=staging', undefined, auth);
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors).toEqual([expect.objectContaining({ field: 'environment' })]);
    const none = await http(t, 'GET', '/mgmt/v1/workflows/nope?environment=development', undefined, auth);
    expect(none.status).toBe(404);
    expect(none.body).toMatchObject({ code: 'resource_missing', status: 404, type: 'invalid_request_error' });
  });

  it('refuses API keys on /mgmt and the service token on the public API', async () => {
    await start();
    const token = t.herald.serviceToken.token!;
    for (const key of [t.secretKey, t.publicKey]) {
      const res = await http(t, 'GET', '/mgmt/v1/whoami', undefined, { authorization: `Bearer ${key}` });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 'authentication_required', type: 'authentication_error' });
    }
    expect((await http(t, 'GET', '/mgmt/v1/whoami', undefined, { authorization: '' })).status).toBe(401);
    const onData = await http(t, 'GET', '/v1/users/x', undefined, { authorization: `Bearer ${token}` });
    expect(onData.status).toBe(401);
    expect(onData.body.message).toMatch(/management API/);
    const onTrigger = await http(t, 'POST', '/v1/workflows/alerts/trigger', { recipients: ['x'] }, { authorization: `Bearer ${token}` });
    expect(onTrigger.status).toBe(401);
    // Not in a URL either, where it would reach access logs.
    expect((await fetch(`${t.url}/mgmt/v1/whoami?api_key=${token}`)).status).toBe(401);
  });

  it('accepts only the configured service token when one is set (HERALD_SERVICE_TOKEN)', async () => {
    const configured = `knock_st_configured_${'x'.repeat(20)}`;
    const db = await openTestDb(engine);
    const herald = await createHerald({ db, logger: pino({ level: 'silent' }), serviceToken: configured });
    await herald.app.listen({ port: 0, host: '127.0.0.1' });
    t = { close: async () => { await herald.close(); await db.close(); } } as TestHerald;
    const { port } = herald.app.server.address() as AddressInfo;
    expect(herald.serviceToken).toMatchObject({ token: configured, generated: false });
    const mgmt = new KnockMgmt({ serviceToken: configured, baseURL: `http://127.0.0.1:${port}/mgmt`, maxRetries: 0 });
    expect((await mgmt.auth.verify()).service_token_name).toBe('herald');
    const other = new KnockMgmt({ serviceToken: `knock_st_other_${'y'.repeat(20)}`, baseURL: `http://127.0.0.1:${port}/mgmt`, maxRetries: 0 });
    await expect(other.auth.verify()).rejects.toMatchObject({ status: 401 });
  });

  it('takes a rotated service token at once and keeps the old one only for its grace period', async () => {
    const mgmt = await start();
    const old = t.herald.serviceToken.token!;
    const status = (token: string) => fetch(`${t.url}/mgmt/v1/whoami`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    // As `herald keys rotate service` does from another process: the running one hears of it by NOTIFY.
    const graced = await rotateServiceToken(t.db, 'herald', 60_000, new Date());
    let fresh = 0;
    for (let i = 0; i < 50 && fresh !== 200; i++) {
      fresh = await status(graced.token);
      if (fresh !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(fresh).toBe(200);
    expect((await mgmt.auth.verify()).service_token_name).toBe('herald');
    const cut = await rotateServiceToken(t.db, 'herald', 0, new Date());
    let gone = 0;
    for (let i = 0; i < 50 && gone !== 401; i++) {
      gone = await status(graced.token);
      if (gone !== 401) await new Promise((r) => setTimeout(r, 50));
    }
    expect(gone).toBe(401);
    expect(await status(cut.token)).toBe(200);
    // The first token was still in its minute of grace when the second rotation came: it stays until then.
    expect(await status(old)).toBe(200);
  });
});
