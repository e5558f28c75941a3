/**
 * Rate limits per API key, and per user for requests with a user token (knock-api.md §1.8).
 * The counters live in the database, so two Herald processes on one database share a limit.
 * Windows are one second of Herald's clock, which the test moves.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { RateLimitError } from '@knocklabs/node';
import { ManualClock } from '../../src/domain/clock.js';
import type { RateLimitOptions } from '../../src/api/plugins/rate-limit.js';
import type { Db } from '../../src/store/db.js';
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

  /** Statements that added to the counters, per Herald (a counting view of its connection). */
  let counterStatements: [string[], string[]];
  const counting = (db: Db, seen: string[]): Db => ({
    ...db,
    query: (sql, params) => {
      if (sql.includes('INSERT INTO rate_limits')) seen.push(sql);
      return db.query(sql, params);
    },
  });

  const start = async (rateLimits: RateLimitOptions) => {
    clock.set('2026-03-01T12:00:00Z');
    shared = await openSharedDb(engine);
    counterStatements = [[], []];
    a = await startHeraldOn(counting(shared.dbs[0], counterStatements[0]), { clock, rateLimits, signingPublicKey });
    b = await startHeraldOn(counting(shared.dbs[1], counterStatements[1]), { clock, rateLimits, signingPublicKey });
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

  const browser = async (userId: string, h: RunningHerald) =>
    get(h, `/v1/users/${userId}/feeds/in-app-feed`, {
      authorization: `Bearer ${h.publicKey}`,
      'x-knock-user-token': await signUserTokenAt(clock, userId, { signingKey }),
    });

  it('limits each user token separately from the others and from the key', async () => {
    await start({ perKey: 100, perUser: 2 });

    expect((await browser('ada', a)).status).toBe(200);
    expect((await browser('ada', b)).status).toBe(200);
    expect((await browser('ada', a)).status).toBe(429);

    expect((await browser('bob', b)).status).toBe(200);
    expect((await get(a, '/v1/users')).status).toBe(200);
  });

  it('keeps a user limit global across two processes within the stated tolerance', async () => {
    // 40/s: each process admits up to 40 / 20 = 2 requests on its own count, then reserves
    // slices of 2 in the database. Stated tolerance: limit ± 2 processes × 2.
    await start({ perKey: 1000, perUser: 40, reconcileMs: 60_000 });
    let admitted = 0;
    for (let i = 0; i < 30; i++) {
      for (const h of [a, b]) {
        const res = await browser('ada', h);
        if (res.status === 200) admitted++;
        else expect(res.status).toBe(429);
      }
    }
    expect(admitted).toBeGreaterThanOrEqual(40 - 2 * 2);
    expect(admitted).toBeLessThanOrEqual(40 + 2 * 2);
  });

  it('admits a browser user\'s few requests without writing the counters per request', async () => {
    await start({ perKey: 1000, perUser: 200, reconcileMs: 60_000 });
    for (let i = 0; i < 5; i++) expect((await browser('ada', a)).status).toBe(200);
    expect(counterStatements[0]).toEqual([]);
  });

  it('reports locally admitted requests to the database in the background', async () => {
    await start({ perKey: 1000, perUser: 200, reconcileMs: 20 });
    for (const user of ['ada', 'bob', 'cy']) expect((await browser(user, a)).status).toBe(200);
    expect((await browser('ada', a)).status).toBe(200);
    const counts = async () => new Map((await shared.dbs[1].query<{ bucket: string; count: number }>('SELECT bucket, count FROM rate_limits'))
      .map((r) => [r.bucket, r.count]));
    await expect.poll(counts, { timeout: 30_000 }).toEqual(new Map([['user:ada', 2], ['user:bob', 1], ['user:cy', 1]]));
  });
});
