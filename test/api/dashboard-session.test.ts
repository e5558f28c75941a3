/**
 * Signing in to the dashboard and what the session cookie may do: an environment's secret key
 * or HERALD_DASHBOARD_TOKEN signs in; nothing else does. The cookie is HttpOnly, SameSite=Strict
 * and signed; writes need the CSRF header from Herald's own origin; and a session reaches its
 * own environment only — through /v1, /mgmt/v1 and /dashboard/api alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeTable } from '../../src/api/plugins/auth.js';
import { rotateApiKey } from '../../src/store/api-keys.js';
import { loadConfig } from '../../src/config.js';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';
import { newSigningKeys, signUserTokenAt } from '../support/user-tokens.js';
import { asDashboard, raw, signIn } from './dashboard-helpers.js';

const DASHBOARD_TOKEN = 'dashboard-token-for-tests-0123456789';
const keys = newSigningKeys();
const hello = { key: 'hello', name: 'Hello', steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hi {{ recipient.id }}' } }] };

describe('HERALD_DASHBOARD_TOKEN', () => {
  it('is read from the environment or --dashboard-token, and must not look like an API key or be short', () => {
    expect(loadConfig([], { HERALD_DASHBOARD_TOKEN: DASHBOARD_TOKEN }).dashboardToken).toBe(DASHBOARD_TOKEN);
    expect(loadConfig(['--dashboard-token', DASHBOARD_TOKEN], {}).dashboardToken).toBe(DASHBOARD_TOKEN);
    expect(loadConfig([], {}).dashboardToken).toBeUndefined();
    expect(() => loadConfig([], { HERALD_DASHBOARD_TOKEN: 'short' })).toThrow(/HERALD_DASHBOARD_TOKEN/);
    expect(() => loadConfig([], { HERALD_DASHBOARD_TOKEN: `sk_${'x'.repeat(30)}` })).toThrow(/HERALD_DASHBOARD_TOKEN/);
  });
});

describe.each(engines)('dashboard sign-in and session (%s)', { timeout: 120_000 }, (engine) => {
  let t: TestHerald;
  let devSecret: string;
  let prodSecret: string;
  beforeAll(async () => {
    t = await startTestHerald(engine, {
      workflows: [hello],
      environments: ['development', 'production'],
      signingPublicKey: keys.signingPublicKey,
      dashboard: { token: DASHBOARD_TOKEN },
      rateLimits: { perKey: 0, perUser: 0 },
    });
    devSecret = t.herald.environments[0].keys.secret;
    prodSecret = t.herald.environments[1].keys.secret;
    // One user in each environment, each invisible to the other.
    await raw(t, 'PUT', '/v1/users/dev-ada', { authorization: `Bearer ${devSecret}` }, { name: 'Dev Ada' });
    await raw(t, 'PUT', '/v1/users/prod-bob', { authorization: `Bearer ${prodSecret}` }, { name: 'Prod Bob' });
  });
  afterAll(async () => { await t?.close(); });

  it('signs in with an environment\'s secret key: a session of that environment only, in an HttpOnly, SameSite=Strict, signed cookie', async () => {
    const res = await signIn(t, devSecret);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ environment: 'development', environments: [{ slug: 'development', name: 'Development' }], can_switch_environment: false, credential: 'secret_key' });
    const flags = res.setCookie!.split(';').map((s) => s.trim().toLowerCase());
    expect(flags).toEqual(expect.arrayContaining(['httponly', 'samesite=strict', 'path=/', 'max-age=43200']));
    expect(flags).not.toContain('secure');
    // Signed: the value ends with a signature, and the key itself is not in it.
    expect(res.cookie).toMatch(/^herald_dashboard=[^;]+\.[A-Za-z0-9%+/]+$/);
    expect(res.setCookie).not.toContain(devSecret);
    const session = await asDashboard(t, res.cookie!, 'GET', '/dashboard/api/session');
    expect(session.status).toBe(200);
    expect(session.body.environment).toBe('development');
  });

  it('signs in with HERALD_DASHBOARD_TOKEN to any environment, and may switch', async () => {
    const res = await signIn(t, DASHBOARD_TOKEN);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ environment: 'development', can_switch_environment: true, credential: 'dashboard_token' });
    expect(res.body.environments.map((e: { slug: string }) => e.slug)).toEqual(['development', 'production']);
    expect((await asDashboard(t, res.cookie!, 'GET', '/v1/users/prod-bob')).status).toBe(404);

    const switched = await fetch(`${t.url}/dashboard/api/session/environment`, {
      method: 'PUT', headers: { cookie: res.cookie!, 'x-herald-csrf': '1', 'content-type': 'application/json' }, body: JSON.stringify({ environment: 'production' }),
    });
    expect(switched.status).toBe(200);
    expect((await switched.json()).environment).toBe('production');
    const prodCookie = switched.headers.getSetCookie()[0].split(';')[0];
    const bob = await asDashboard(t, prodCookie, 'GET', '/v1/users/prod-bob');
    expect(bob.status).toBe(200);
    expect(bob.body.name).toBe('Prod Bob');

    const direct = await signIn(t, DASHBOARD_TOKEN, 'production');
    expect(direct.body.environment).toBe('production');
    expect((await signIn(t, DASHBOARD_TOKEN, 'staging')).status).toBe(422);
  });

  it('refuses a public key, a user token, the service token and garbage alike: 401 invalid_credentials, no cookie', async () => {
    const userToken = await signUserTokenAt(t.clock, 'dev-ada', { signingKey: keys.signingKey });
    for (const token of [t.publicKey, userToken, t.herald.serviceToken.token!, 'garbage', `${devSecret}x`]) {
      const res = await signIn(t, token);
      expect(res.status, token.slice(0, 12)).toBe(401);
      expect(res.body).toMatchObject({ status: 401, code: 'invalid_credentials' });
      expect(res.setCookie).toBeUndefined();
    }
  });

  it('a public key or a user token cannot call any /dashboard/api route', async () => {
    const userToken = await signUserTokenAt(t.clock, 'dev-ada', { signingKey: keys.signingKey });
    const routes = routeTable(t.herald.app).filter((r) => r.url.startsWith('/dashboard/api') && r.auth !== 'none' && r.method !== 'HEAD');
    expect(routes.length).toBeGreaterThanOrEqual(10);
    for (const route of routes) {
      const path = route.url.replace(/:[a-z_]+/g, '00000000-0000-4000-8000-000000000000');
      const callers: Record<string, string>[] = [{ authorization: `Bearer ${t.publicKey}` }, { authorization: `Bearer ${t.publicKey}`, 'x-knock-user-token': userToken }];
      for (const headers of callers) {
        const res = await raw(t, route.method, path, { ...headers, 'x-herald-csrf': '1' }, route.method === 'GET' ? undefined : {});
        expect([401, 403], `${route.method} ${path}`).toContain(res.status);
      }
    }
  });

  it('refuses a tampered or foreign cookie as no session at all', async () => {
    const { cookie } = await signIn(t, devSecret);
    const [name, value] = cookie!.split('=');
    const payload = value.slice(0, value.lastIndexOf('.'));
    const signature = value.slice(value.lastIndexOf('.'));
    // The payload re-encoded for production with the original signature.
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const forged = `${name}=${Buffer.from(JSON.stringify({ ...claims, e: 'production' })).toString('base64url')}${signature}`;
    for (const bad of [forged, `${name}=${payload}.AAAA`, `${name}=${payload}`, `${name}=garbage`]) {
      expect((await asDashboard(t, bad, 'GET', '/dashboard/api/session')).status).toBe(401);
      expect((await asDashboard(t, bad, 'GET', '/v1/users/prod-bob')).status).toBe(401);
      expect((await asDashboard(t, bad, 'GET', '/v1/users/dev-ada')).status).toBe(401);
    }
  });

  it('a write with the cookie needs x-herald-csrf, and from a foreign origin is refused', async () => {
    const { cookie } = await signIn(t, devSecret);
    const trigger = '/v1/workflows/hello/trigger';
    const body = JSON.stringify({ recipients: ['dev-ada'] });
    const post = (headers: Record<string, string>) => fetch(t.url + trigger, { method: 'POST', headers: { cookie: cookie!, 'content-type': 'application/json', ...headers }, body });

    const noHeader = await post({});
    expect(noHeader.status).toBe(403);
    expect(await noHeader.json()).toMatchObject({ code: 'csrf_rejected' });
    const foreign = await post({ 'x-herald-csrf': '1', origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    expect(await foreign.json()).toMatchObject({ code: 'csrf_rejected' });
    const otherPort = await post({ 'x-herald-csrf': '1', origin: 'http://127.0.0.1:1' });
    expect(otherPort.status).toBe(403);
    const own = await post({ 'x-herald-csrf': '1', origin: t.url });
    expect(own.status).toBe(200);
    // Sign-in itself follows the rule too.
    const signInNoCsrf = await fetch(`${t.url}/dashboard/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: devSecret }) });
    expect(signInNoCsrf.status).toBe(403);
  });

  it('a development secret key cannot read production through the dashboard', async () => {
    const { cookie } = await signIn(t, devSecret);
    expect((await asDashboard(t, cookie!, 'GET', '/v1/users/dev-ada')).status).toBe(200);
    expect((await asDashboard(t, cookie!, 'GET', '/v1/users/prod-bob')).status).toBe(404);
    const mgmt = await asDashboard(t, cookie!, 'GET', '/mgmt/v1/workflows?environment=production');
    expect(mgmt.status).toBe(403);
    expect(mgmt.body).toMatchObject({ code: 'environment_forbidden' });
    expect((await asDashboard(t, cookie!, 'POST', '/mgmt/v1/api_keys/exchange?environment=production', {})).status).toBe(403);
    const sw = await asDashboard(t, cookie!, 'PUT', '/dashboard/api/session/environment', { environment: 'production' });
    expect(sw.status).toBe(403);
    expect(sw.body).toMatchObject({ code: 'environment_switch_forbidden' });
    // Production's own secret key opens production, and reads its data through the same routes.
    const prod = await signIn(t, prodSecret);
    expect(prod.body).toMatchObject({ environment: 'production', environments: [{ slug: 'production' }] });
    expect((await asDashboard(t, prod.cookie!, 'GET', '/v1/users/prod-bob')).body.name).toBe('Prod Bob');
    expect((await asDashboard(t, prod.cookie!, 'GET', '/v1/users/dev-ada')).status).toBe(404);
  });

  it('the cookie reaches /v1 and /mgmt/v1 routes as the session\'s environment', async () => {
    const prod = await signIn(t, prodSecret);
    const trigger = await asDashboard(t, prod.cookie!, 'POST', '/v1/workflows/hello/trigger', { recipients: ['prod-bob'] });
    expect(trigger.status).toBe(200);
    await t.drain();
    const runs = await raw(t, 'GET', `/v1/workflow_recipient_runs?workflow_run_id=${trigger.body.workflow_run_id}`, { authorization: `Bearer ${prodSecret}` });
    expect(runs.body.items).toHaveLength(1);
    const devRuns = await raw(t, 'GET', `/v1/workflow_recipient_runs?workflow_run_id=${trigger.body.workflow_run_id}`, { authorization: `Bearer ${devSecret}` });
    expect(devRuns.body.items).toHaveLength(0);
    const workflows = await asDashboard(t, prod.cookie!, 'GET', '/mgmt/v1/workflows?environment=production');
    expect(workflows.status).toBe(200);
    expect(workflows.body.entries.map((w: { key: string }) => w.key)).toContain('hello');
    const whoami = await asDashboard(t, prod.cookie!, 'GET', '/mgmt/v1/whoami');
    expect(whoami.status).toBe(200);
    // A key, when sent, decides alone: a public key with the cookie is a public key.
    const withKey = await asDashboard(t, prod.cookie!, 'GET', '/v1/users/prod-bob', undefined, { authorization: `Bearer ${t.publicKey}` });
    expect([401, 403]).toContain(withKey.status);
  });

  it('a path spelled so the hand-over does not see /v1/ never reaches another environment\'s data', async () => {
    const prod = await signIn(t, prodSecret);
    const res = await asDashboard(t, prod.cookie!, 'GET', '/%761/users/prod-bob');
    expect([401, 404]).toContain(res.status);
    expect(JSON.stringify(res.body)).not.toContain('Prod Bob');
  });

  it('signs out: the cookie is cleared', async () => {
    const { cookie } = await signIn(t, devSecret);
    const res = await fetch(`${t.url}/dashboard/api/session`, { method: 'DELETE', headers: { cookie: cookie!, 'x-herald-csrf': '1' } });
    expect(res.status).toBe(204);
    expect(res.headers.getSetCookie()[0]).toMatch(/^herald_dashboard=;.*Max-Age=0/i);
    expect((await raw(t, 'GET', '/dashboard/api/session', {})).status).toBe(401);
  });

  // Last: it replaces production's secret key.
  it('a session ends as soon as its secret key is rotated out', async () => {
    const prod = await signIn(t, prodSecret);
    expect((await asDashboard(t, prod.cookie!, 'GET', '/v1/users/prod-bob')).status).toBe(200);
    const production = t.herald.environments[1];
    const rotated = await rotateApiKey(production.db, 'secret', 0, t.clock.now());
    // Each process picks the new key up by NOTIFY (or its periodic re-read): wait until the old key is refused.
    for (let i = 0; i < 200 && (await raw(t, 'GET', '/v1/users/prod-bob', { authorization: `Bearer ${prodSecret}` })).status !== 401; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await raw(t, 'GET', '/v1/users/prod-bob', { authorization: `Bearer ${prodSecret}` })).status).toBe(401);
    expect((await asDashboard(t, prod.cookie!, 'GET', '/v1/users/prod-bob')).status).toBe(401);
    expect((await asDashboard(t, prod.cookie!, 'GET', '/dashboard/api/session')).status).toBe(401);
    // The new key signs in.
    expect((await signIn(t, rotated.key)).body.environment).toBe('production');
  });
});
