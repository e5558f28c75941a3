/**
 * Rate limits per API key, and per user for requests with a user token (knock-api.md §1.8).
 * The counters live in the database, so two Herald processes on one database share a limit.
 * Windows are one second of Herald's clock, which the test moves.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { RateLimitError } from '@knocklabs/node';
import { ManualClock } from '../../src/domain/clock.js';
import { engines } from '../support/harness.js';
import { signUserTokenAt } from '../support/user-tokens.js';
import { openSharedDb, startHeraldOn, type RunningHerald, type SharedDb } from '../support/two-heralds.js';

const { publicKey: rsaPublic, privateKey: rsaPrivate } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingPublicKey = rsaPublic.export({ type: 'spki', format: 'pem' }).toString();
const signingKey = rsaPrivate.export({ type: 'pkcs8', format: 'pem' }).toString();

describe.each(engines)('rate limits (%s)', (engine) => {
  let shared: SharedDb;
  let a: RunningHerald;
  let b: RunningHerald;
  const clock = new ManualClock('2026-03-01T12:00:00Z');

  const start = async (rateLimits: { perKey: number; perUser: number }) => {
    clock.set('2026-03-01T12:00:00Z');
    shared = await openSharedDb(engine);
    a = await startHeraldOn(shared.dbs[0], { clock, rateLimits, signingPublicKey });
    b = await startHeraldOn(shared.dbs[1], { clock, rateLimits, signingPublicKey });
  };
  afterEach(async () => {
    await a.close();
    await b.close();
    await shared.close();
  });

  const get = (h: RunningHerald, path: string, headers: Record<string, string> = { authorization: `Bearer ${h.secretKey}` }) =>
    fetch(h.url + path, { headers });

  it('answers 429 with retry-after once a key used its limit, counted across processes', async () => {
    await start({ perKey: 5, perUser: 100 });
    for (const h of [a, b, a, b, a]) expect((await get(h, '/v1/users')).status).toBe(200);

    const refused = await get(b, '/v1/users');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toEqual({
      code: 'rate_limit_exceeded', message: 'Too many requests; retry after 1 s.', status: 429, type: 'api_error',
    });
    // The node SDK surfaces it as its RateLimitError.
    await expect(a.knock.users.list()).rejects.toBeInstanceOf(RateLimitError);

    // The next one-second window starts afresh.
    clock.advance(1000);
    expect((await get(a, '/v1/users')).status).toBe(200);
  });

  it('limits each user token separately from the others and from the key', async () => {
    await start({ perKey: 100, perUser: 2 });
    const browser = async (userId: string, h: RunningHerald) =>
      get(h, `/v1/users/${userId}/feeds/in-app-feed`, {
        authorization: `Bearer ${h.publicKey}`,
        'x-knock-user-token': await signUserTokenAt(clock, userId, { signingKey }),
      });

    expect((await browser('ada', a)).status).toBe(200);
    expect((await browser('ada', b)).status).toBe(200);
    expect((await browser('ada', a)).status).toBe(429);

    expect((await browser('bob', b)).status).toBe(200);
    expect((await get(a, '/v1/users')).status).toBe(200);
  });
});
