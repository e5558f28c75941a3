/**
 * Enhanced security (a signing key is configured): browser requests carry the public key and a
 * user token, and the token's `sub`, `exp` and grants decide what they reach. Tokens come from
 * `@knocklabs/node`'s own `signUserToken` where it can express them; `explicit_grants` (which it
 * cannot set) is signed with jose, as any other JWT library would.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SignJWT, importPKCS8 } from 'jose';
import { buildUserTokenGrant, Grants, signUserToken, type TokenGrant } from '@knocklabs/node';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { ManualClock } from '../../src/domain/clock.js';
import { createMessages } from '../support/messages.js';

const { publicKey: rsaPublic, privateKey: rsaPrivate } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingPublicKey = rsaPublic.export({ type: 'spki', format: 'pem' }).toString();
const signingKey = rsaPrivate.export({ type: 'pkcs8', format: 'pem' }).toString();

/** A token with claims `signUserToken` cannot express (explicit_grants), signed RS256 like Knock's. */
async function signClaims(claims: Record<string, unknown>, expiresInSeconds = 3600): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).setIssuedAt(now).setExpirationTime(now + expiresInSeconds)
    .sign(await importPKCS8(signingKey, 'RS256'));
}

const token = (userId: string, grants?: TokenGrant[]) => signUserToken(userId, { signingKey, grants });

describe.each(engines)('user tokens and grants (%s)', (engine) => {
  let t: TestHerald;
  // signUserToken stamps its tokens with the real time (iat, exp); the server clock must agree.
  beforeEach(async () => { t = await startTestHerald(engine, { signingPublicKey, clock: new ManualClock(new Date()) }); });
  afterEach(async () => { await t.close(); });

  /** A request as @knocklabs/client makes it: public key plus the user token. */
  const browser = (userToken: string, method: string, path: string, body?: unknown) =>
    http(t, method, path, body, { authorization: `Bearer ${t.publicKey}`, 'x-knock-user-token': userToken });

  const feed = (userId: string, query = '') => `/v1/users/${userId}/feeds/in-app-feed${query}`;
  const dataOf = (res: { body: { entries: { data: { n: number } }[] } }) => res.body.entries.map((e) => e.data.n);

  it('accepts signUserToken output for its own user and refuses it for anyone else', async () => {
    await createMessages(t, [{ recipient: 'ada', data: { n: 1 } }, { recipient: 'bob', data: { n: 2 } }]);
    const ada = await token('ada');

    const own = await browser(ada, 'GET', feed('ada'));
    expect(own.status).toBe(200);
    expect(dataOf(own)).toEqual([1]);

    for (const path of [feed('bob'), '/v1/users/bob', '/v1/users/bob/preferences', '/v1/users/bob/preferences/default', '/v1/users/bob/channel_data/in-app-feed']) {
      const res = await browser(ada, 'GET', path);
      expect(res.status, path).toBe(403);
      expect(res.body).toMatchObject({ code: 'authorization', status: 403, type: 'authentication_error' });
    }
    expect((await browser(ada, 'PUT', '/v1/users/bob/preferences/default', { workflows: { x: false } })).status).toBe(403);
    expect((await browser(ada, 'PUT', '/v1/users/bob/channel_data/in-app-feed', { data: { tokens: ['x'] } })).status).toBe(403);
  });

  it("never marks another user's messages: single, batch and bulk", async () => {
    const [bobs] = await createMessages(t, [{ recipient: 'bob' }]);
    const ada = await token('ada');

    expect((await browser(ada, 'PUT', `/v1/messages/${bobs.id}/read`)).status).toBe(404);
    expect((await browser(ada, 'DELETE', `/v1/messages/${bobs.id}/seen`)).status).toBe(404);
    const batch = await browser(ada, 'POST', '/v1/messages/batch/archived', { message_ids: [bobs.id] });
    expect(batch.status).toBe(200);
    expect(batch.body).toEqual([]);
    const bulk = await browser(ada, 'POST', '/v1/channels/in-app-feed/messages/bulk/read', { user_ids: ['bob'] });
    expect(bulk.status).toBe(403);

    const untouched = await t.knock.messages.get(bobs.id);
    expect(untouched).toMatchObject({ read_at: null, seen_at: null, archived_at: null });
  });

  it('honours exp against the server clock: an expired token is a 401', async () => {
    const ada = await signUserToken('ada', { signingKey, expiresInSeconds: 60 });
    t.clock.set(new Date());
    expect((await browser(ada, 'GET', feed('ada'))).status).toBe(200);

    // Clocks may disagree by up to a minute: the token is honoured until a minute past its exp.
    t.clock.advance(110_000);
    expect((await browser(ada, 'GET', feed('ada'))).status).toBe(200);
    t.clock.advance(11_000);
    const res = await browser(ada, 'GET', feed('ada'));
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'invalid_user_token', type: 'authentication_error' });
  });

  it('requires a token and rejects one signed with another key or without sub', async () => {
    expect((await http(t, 'GET', feed('ada'), undefined, { authorization: `Bearer ${t.publicKey}` })).body.code).toBe('missing_user_token');
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const forged = await signUserToken('ada', { signingKey: other });
    expect((await browser(forged, 'GET', feed('ada'))).body.code).toBe('invalid_user_token');
    const noSub = await signClaims({});
    expect((await browser(noSub, 'GET', feed('ada'))).body.code).toBe('invalid_user_token');
  });

  it('with explicit_grants, allows only what the user entity lists', async () => {
    const [msg] = await createMessages(t, [{ recipient: 'ada', data: { n: 1 } }]);
    await t.knock.users.update('ada', { name: 'Ada' });
    const readOnly = await signClaims({
      sub: 'ada',
      explicit_grants: true,
      grants: { 'https://api.knock.app/v1/users/ada': { 'user_feed/read': [{}], 'preferences/read': [{}] } },
    });

    expect((await browser(readOnly, 'GET', feed('ada'))).status).toBe(200);
    expect((await browser(readOnly, 'GET', '/v1/users/ada/preferences/default')).status).toBe(200);
    expect((await browser(readOnly, 'PUT', `/v1/messages/${msg.id}/read`)).status).toBe(403);
    expect((await browser(readOnly, 'POST', '/v1/messages/batch/seen', { message_ids: [msg.id] })).status).toBe(403);
    expect((await browser(readOnly, 'GET', '/v1/users/ada')).status).toBe(403);
    expect((await browser(readOnly, 'PUT', '/v1/users/ada/preferences/default', { workflows: {} })).status).toBe(403);
    expect((await browser(readOnly, 'GET', '/v1/users/ada/channel_data/in-app-feed')).status).toBe(403);
    expect(await t.knock.messages.get(msg.id)).toMatchObject({ read_at: null, seen_at: null });
  });

  it('scopes the feed to granted tenants: named tenant, other tenant, and the unnarrowed feed', async () => {
    await createMessages(t, [
      { recipient: 'ada', tenant: 'acme', data: { n: 1 } },
      { recipient: 'ada', tenant: 'globex', data: { n: 2 } },
      { recipient: 'ada', tenant: null, data: { n: 3 } },
    ]);
    const acme = await token('ada', [buildUserTokenGrant({ type: 'tenant', id: 'acme' }, [Grants.UserFeedRead])]);

    expect(dataOf(await browser(acme, 'GET', feed('ada', '?tenant=acme')))).toEqual([1]);
    expect((await browser(acme, 'GET', feed('ada', '?tenant=globex'))).status).toBe(403);
    // Without explicit grants the user's own (un-tenanted) items stay readable; other tenants do not.
    const all = await browser(acme, 'GET', feed('ada'));
    expect(dataOf(all)).toEqual([3, 1]);
    expect(all.body.meta).toMatchObject({ total_count: 2, unread_count: 2 });

    // With explicit grants and only the tenant granted, the un-narrowed feed is refused.
    const acmeOnly = await signClaims({ sub: 'ada', explicit_grants: true, grants: { 'https://api.knock.app/v1/tenants/acme': { 'user_feed/read': [{}] } } });
    expect((await browser(acmeOnly, 'GET', feed('ada'))).status).toBe(403);
    expect(dataOf(await browser(acmeOnly, 'GET', feed('ada', '?tenant=acme')))).toEqual([1]);
  });

  it('matches entity URIs on their path whatever host they name', async () => {
    await createMessages(t, [{ recipient: 'ada', tenant: 'acme', data: { n: 1 } }, { recipient: 'ada', tenant: 'globex', data: { n: 2 } }]);
    const selfHosted = await signClaims({
      sub: 'ada',
      explicit_grants: true,
      grants: { 'http://herald.internal:3000/v1/objects/$tenants/globex': { 'user/feed_read': [] } },
    });
    expect(dataOf(await browser(selfHosted, 'GET', feed('ada', '?tenant=globex')))).toEqual([2]);
    expect((await browser(selfHosted, 'GET', feed('ada', '?tenant=acme'))).status).toBe(403);
  });

  it("keeps a tenant-scoped token's status changes inside its tenants", async () => {
    const [inAcme, inGlobex] = await createMessages(t, [{ recipient: 'ada', tenant: 'acme' }, { recipient: 'ada', tenant: 'globex' }]);
    const acme = await signClaims({
      sub: 'ada',
      grants: { 'https://api.knock.app/v1/tenants/acme': { 'user_feed/read': [{}], 'user_feed/write': [{}] } },
    });

    expect((await browser(acme, 'PUT', `/v1/messages/${inAcme.id}/read`)).status).toBe(200);
    expect((await browser(acme, 'PUT', `/v1/messages/${inGlobex.id}/read`)).status).toBe(403);
    expect((await browser(acme, 'POST', '/v1/messages/batch/seen', { message_ids: [inAcme.id, inGlobex.id] })).status).toBe(403);
    expect((await browser(acme, 'POST', '/v1/channels/in-app-feed/messages/bulk/seen', { user_ids: ['ada'] })).status).toBe(403);
    expect((await browser(acme, 'POST', '/v1/channels/in-app-feed/messages/bulk/seen', { user_ids: ['ada'], tenants: ['acme'] })).status).toBe(200);

    expect(await t.knock.messages.get(inGlobex.id)).toMatchObject({ read_at: null, seen_at: null });
    expect((await t.knock.messages.get(inAcme.id)).seen_at).not.toBeNull();
  });

  it("reaches an object's channel data only with a grant on that object", async () => {
    const path = '/v1/objects/projects/apollo/channel_data/in-app-feed';
    expect((await http(t, 'PUT', path, { data: { tokens: ['t1'] } })).status).toBe(200);
    const none = await token('ada');
    expect((await browser(none, 'GET', path)).status).toBe(403);

    const granted = await token('ada', [buildUserTokenGrant({ type: 'object', collection: 'projects', id: 'apollo' }, [Grants.ChannelDataRead])]);
    const read = await browser(granted, 'GET', path);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ data: { tokens: ['t1'] } });
    expect((await browser(granted, 'PUT', path, { data: { tokens: ['x'] } })).status).toBe(403);
    expect((await browser(granted, 'GET', '/v1/objects/projects/gemini/channel_data/in-app-feed')).status).toBe(403);
  });
});

