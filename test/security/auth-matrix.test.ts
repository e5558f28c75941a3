/**
 * The authentication matrix, generated from Herald's own route table: every route (HEAD
 * included) × every kind of caller × path spellings that a router decodes or normalises
 * differently from the raw URL text (`/%761/users` once reached every route with no key).
 * Each answer is checked against the route's declared access (`config.auth`):
 * - refused → 401 or 403 (or, for a spelling no route matches, Knock's route-level 404: the
 *   handler never ran);
 * - allowed → anything but 401 or 403 (path parameters are filled with plausible values).
 *
 * One Herald per engine serves the whole matrix; requests are raw HTTP (node:http) so the path
 * reaches Herald exactly as written (fetch would normalise dot segments).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeTable, type RouteEntry } from '../../src/api/plugins/auth.js';
import { buildApp } from '../../src/api/app.js';
import type { RouteAccess } from '../../src/api/types.js';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';
import { send, type Answer } from '../support/raw-http.js';
import { newSigningKeys, signClaims, signClaimsAt, signUserTokenAt } from '../support/user-tokens.js';

const keys = newSigningKeys();

/** Plausible values for every path parameter Herald uses. */
const PARAMS: Record<string, string> = {
  user_id: 'ada',
  channel_id: 'in-app-feed',
  collection: 'projects',
  object_id: 'p1',
  id: 'p1',
  message_id: 'msg-unknown',
  status: 'read',
  action: 'read',
  key: 'hello',
  workflow_key: 'hello',
  tenant_id: 'acme',
  provider: 'postmark',
  environment_slug: 'production',
  token: 'tampered',
  partial_key: 'footer',
  locale_code: 'fr',
  email_layout_key: 'default',
  step_ref: 'feed',
  channel_key: 'in-app-feed',
  channel_group_key: 'push',
  commit_id: 'c1',
  '*': 'v1/users',
};

function fill(url: string): string {
  return url.replace(/:([a-z_]+)|\*/g, (m, name: string | undefined) => {
    const value = PARAMS[name ?? '*'];
    if (value === undefined) throw new Error(`no value for ${m} in ${url}`);
    return value;
  });
}

/** The same path, spelled as a router may read it but a prefix test on the raw text would not. */
function spellings(path: string): string[] {
  const [, first, ...rest] = path.split('/');
  const tail = rest.length ? `/${rest.join('/')}` : '';
  const encodeAll = (s: string) => [...s].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
  return [
    `/${first.replace(/^v/, '%76')}${tail}`,
    `/${first.replace(/1$/, '%31')}${tail}`,
    `/${encodeAll(first)}${tail}`,
    `/${first}${rest.map((s) => `/${/^[a-z_]+$/.test(s) ? encodeAll(s) : s}`).join('')}`,
    `//${first}${tail}`,
    `/${first}/${tail}`,
    `/${first}/.${tail}`,
    `/${first}/x/..${tail}`,
    `/${first.toUpperCase()}${tail}`,
    path.toUpperCase(),
    `${path}/`,
  ];
}

type Caller = 'none' | 'wrong key' | 'secret' | 'service token' | 'public, no token' | 'public + token' | 'public + token of another user'
  | 'public + expired token' | 'public + token without exp' | 'public + token issued in the future';

/** Does `caller` get through a route that declares `auth`? */
function allowed(route: RouteEntry, caller: Caller): boolean {
  const auth: RouteAccess | undefined = route.auth;
  if (auth === 'none') return true;
  // The management API's token calls the management API and nothing else; nothing else calls it.
  if (caller === 'service token') return auth === 'service_token';
  if (caller === 'secret') return auth === 'secret' || auth === 'public' || auth === 'webhook_token';
  if (auth !== 'public') return false;
  if (caller === 'public + token') return true;
  // Both tokens hold a grant on the object projects/p1; only a user in the path tells them apart.
  if (caller === 'public + token of another user') return !route.url.includes(':user_id');
  return false;
}

const isRouteNotFound = (a: Answer, method: string) =>
  a.status === 404 && (method === 'HEAD' || (a.body as { code?: string; message?: string })?.code === 'resource_missing' && /^No route /.test(String((a.body as { message?: string }).message)));

describe.each(engines)('authentication matrix from the route table (%s)', (engine) => {
  let t: TestHerald;
  let routes: RouteEntry[];
  const headers = {} as Record<Caller, Record<string, string>>;

  beforeAll(async () => {
    t = await startTestHerald(engine, { signingPublicKey: keys.signingPublicKey, rateLimits: { perKey: 0, perUser: 0 } });
    routes = [...routeTable(t.herald.app)];
    const now = Math.floor(t.clock.now().getTime() / 1000);
    const pk = { authorization: `Bearer ${t.publicKey}` };
    const objectGrant = { 'https://api.knock.app/v1/objects/projects/p1': { 'channel_data/read': [{}], 'channel_data/write': [{}] } };
    const token = (userId: string) => signClaimsAt(t.clock, keys.signingKey, { sub: userId, grants: objectGrant });
    headers.none = {};
    headers['wrong key'] = { authorization: 'Bearer sk_test_not_a_key_of_this_environment' };
    headers.secret = { authorization: `Bearer ${t.secretKey}` };
    headers['service token'] = { authorization: `Bearer ${t.herald.serviceToken.token}` };
    headers['public, no token'] = pk;
    headers['public + token'] = { ...pk, 'x-knock-user-token': await token('ada') };
    headers['public + token of another user'] = { ...pk, 'x-knock-user-token': await token('bob') };
    // Past its exp by more than the 60 s of clock skew Herald allows.
    headers['public + expired token'] = { ...pk, 'x-knock-user-token': await signUserTokenAt(t.clock, 'ada', { signingKey: keys.signingKey, expiresInSeconds: -61 - 60 }) };
    headers['public + token without exp'] = { ...pk, 'x-knock-user-token': await signClaims(keys.signingKey, { sub: 'ada', iat: now, grants: objectGrant }) };
    headers['public + token issued in the future'] = { ...pk, 'x-knock-user-token': await signClaims(keys.signingKey, { sub: 'ada', iat: now + 120, exp: now + 3600, grants: objectGrant }) };
  });
  afterAll(async () => { await t?.close(); });

  /** Runs `cases` a few at a time; returns the answers that contradict the declaration. */
  async function check(cases: { route: RouteEntry; caller: Caller; path: string }[]) {
    const wrong: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const { route, caller, path } = cases[next++];
        const body = route.method === 'POST' || route.method === 'PUT' ? {} : undefined;
        const a = await send(t.url, route.method, path, headers[caller], body);
        const ok = allowed(route, caller)
          ? a.status !== 401 && a.status !== 403
          : a.status === 401 || a.status === 403 || (path !== fill(route.url) && isRouteNotFound(a, route.method));
        if (!ok) wrong.push(`${route.method} ${path} as "${caller}" (declared ${route.auth}): ${a.status} ${JSON.stringify(a.body)?.slice(0, 160)}`);
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    return { wrong, count: cases.length };
  }

  it('every route declares who may call it', () => {
    expect(routes.length).toBeGreaterThan(80);
    expect(routes.filter((r) => r.auth === undefined).map((r) => `${r.method} ${r.url}`)).toEqual([]);
    // Spot checks of the table itself: HEAD routes are in it, and declared as their GET.
    const head = routes.find((r) => r.method === 'HEAD' && r.url === '/v1/users/:user_id/preferences');
    expect(head).toMatchObject({ auth: 'public' });
    expect(routes.find((r) => r.method === 'GET' && r.url === '/v1/users')).toMatchObject({ auth: 'secret' });
    expect(routes.find((r) => r.method === 'GET' && r.url === '/healthz')).toMatchObject({ auth: 'none' });
    expect(routes.find((r) => r.url === '/v1/users/:user_id/feeds/:channel_id/stream')).toMatchObject({ auth: 'public', queryAuth: true });
  });

  it('answers every route for every kind of caller as the route declares', async () => {
    const callers = Object.keys(headers) as Caller[];
    const cases = routes.filter((r) => r.url !== '*').flatMap((route) => callers.map((caller) => ({ route, caller, path: fill(route.url) })));
    const { wrong, count } = await check(cases);
    expect(count).toBeGreaterThan(80 * 9);
    expect(wrong).toEqual([]);
  }, 300_000);

  it('reaches no route without a valid key through encoded, doubled, dotted or re-cased paths', async () => {
    const callers: Caller[] = ['none', 'wrong key', 'public, no token'];
    const cases = routes.filter((r) => (r.url.startsWith('/v1/') || r.url.startsWith('/mgmt/v1/')) && r.auth !== 'none')
      .flatMap((route) => spellings(fill(route.url)).flatMap((path) => callers.map((caller) => ({ route, caller, path }))));
    const { wrong, count } = await check(cases);
    expect(count).toBeGreaterThan(80 * 3 * 10);
    expect(wrong).toEqual([]);
  }, 300_000);

  it('refuses a route that declares no access rule, without a 500', async () => {
    const app = await buildApp({ db: t.db, clock: t.clock, keys: { secret: t.secretKey, public: t.publicKey }, engine: t.herald.engine });
    app.get('/v1/undeclared', async () => ({ secret: 'data' }));
    await app.ready();
    try {
      expect(routeTable(app).find((r) => r.url === '/v1/undeclared')).toMatchObject({ auth: undefined });
      const res = await app.inject({ method: 'GET', url: '/v1/undeclared', headers: { authorization: `Bearer ${t.secretKey}` } });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'authorization', status: 403, type: 'authentication_error', message: expect.stringMatching(/declares no access rule/) });
    } finally {
      await app.close();
    }
  });

  it('answers an unknown path with the same Knock 404 whatever the key', async () => {
    for (const caller of ['none', 'secret'] as Caller[]) {
      const a = await send(t.url, 'GET', '/v1/no-such-thing', headers[caller]);
      expect(a).toEqual({ status: 404, body: { code: 'resource_missing', message: 'No route GET /v1/no-such-thing.', status: 404, type: 'invalid_request_error' } });
    }
  });
});
