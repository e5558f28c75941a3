import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { signUserToken } from '@knocklabs/node';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { ManualClock } from '../../src/domain/clock.js';

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingPublicKey = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const signingPrivateKey = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

describe.each(engines)('authentication and error shapes (%s)', (engine) => {
  let t: TestHerald;
  afterEach(async () => { await t.close(); });

  it('answers 401 api_key_missing without an Authorization header', async () => {
    t = await startTestHerald(engine);
    const res = await fetch(`${t.url}/v1/users`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'api_key_missing', status: 401, type: 'authentication_error' });
  });

  it('answers 401 for a key Herald did not issue', async () => {
    t = await startTestHerald(engine);
    const res = await http(t, 'GET', '/v1/users', undefined, { authorization: 'Bearer sk_wrong' });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('authentication_required');
  });

  it('refuses a public key on a server-only endpoint', async () => {
    t = await startTestHerald(engine);
    const res = await http(t, 'POST', '/v1/workflows/x/trigger', { recipients: ['a'] }, { authorization: `Bearer ${t.publicKey}` });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('incorrect_token_type');
  });

  it('lets a public key read a user when no signing key is configured', async () => {
    t = await startTestHerald(engine);
    await t.knock.users.update('ada', { name: 'Ada' });
    const res = await http(t, 'GET', '/v1/users/ada', undefined, { authorization: `Bearer ${t.publicKey}` });
    expect(res.status).toBe(200);
    expect(res.body.name).toBe('Ada');
  });

  it('with a signing key, requires a user token for that very user', async () => {
    t = await startTestHerald(engine, { signingPublicKey, clock: new ManualClock(new Date()) });
    await t.knock.users.update('ada', { name: 'Ada' });
    const pk = { authorization: `Bearer ${t.publicKey}` };
    const missing = await http(t, 'GET', '/v1/users/ada', undefined, pk);
    expect(missing.status).toBe(401);
    expect(missing.body.code).toBe('missing_user_token');
    const token = await signUserToken('ada', { signingKey: signingPrivateKey });
    const ok = await http(t, 'GET', '/v1/users/ada', undefined, { ...pk, 'x-knock-user-token': token });
    expect(ok.status).toBe(200);
    const other = await http(t, 'GET', '/v1/users/bob', undefined, { ...pk, 'x-knock-user-token': token });
    expect(other.status).toBe(403);
    const forged = await http(t, 'GET', '/v1/users/ada', undefined, { ...pk, 'x-knock-user-token': `${token}x` });
    expect(forged.status).toBe(401);
    expect(forged.body.code).toBe('invalid_user_token');
  });

  it('answers an unknown route with a Knock-shaped 404', async () => {
    t = await startTestHerald(engine);
    const res = await http(t, 'GET', '/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'resource_missing', status: 404, type: 'invalid_request_error' });
    expect(typeof res.body.message).toBe('string');
  });

  it('answers malformed JSON with a 400 in Knock\'s shape', async () => {
    t = await startTestHerald(engine);
    const res = await fetch(`${t.url}/v1/workflows/x/trigger`, { method: 'POST', headers: { authorization: `Bearer ${t.secretKey}`, 'content-type': 'application/json' }, body: '{"recipients": [' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'invalid_params', status: 400 });
  });

  it('tags every response with an x-request-id', async () => {
    t = await startTestHerald(engine);
    const res = await http(t, 'GET', '/v1/users');
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('publishes an OpenAPI document generated from the route schemas', async () => {
    t = await startTestHerald(engine);
    const res = await fetch(`${t.url}/openapi.json`);
    const doc = await res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/workflows/{key}/trigger', '/v1/workflows/{key}/cancel', '/v1/workflow_recipient_runs']));
    expect(doc.paths['/v1/workflows/{key}/trigger'].post.requestBody).toBeDefined();
  });
});

describe.each(engines)('CORS for browser clients (%s)', (engine) => {
  let t: TestHerald;
  afterEach(async () => { await t.close(); });

  it('answers a browser preflight without a key and allows the Knock client headers', async () => {
    t = await startTestHerald(engine);
    const res = await fetch(`${t.url}/v1/users/ada/feeds/in-app-feed`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization,content-type,x-knock-user-token,x-knock-client' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-knock-user-token');
  });

  it('adds the allow-origin header to real responses', async () => {
    t = await startTestHerald(engine);
    const res = await fetch(`${t.url}/v1/users/ada/feeds/in-app-feed`, { headers: { origin: 'https://app.example.com', authorization: `Bearer ${t.publicKey}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
  });
});
