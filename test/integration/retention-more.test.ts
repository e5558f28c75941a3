/**
 * Data retention of the kinds added after the first ones (issue 15, item 7): closed batches with
 * their members, throttle windows, cancel records, finished schedules and rotated-out API keys.
 * Each deletes exactly what is past its age and nothing younger, and never what is still in use:
 * an open batch, a batch a message or a running run still needs, an open throttle window, a
 * schedule with a next occurrence, a key in its grace period. Passes run at every drain
 * (interval 0) in batches of 2, so each kind takes several batches.
 */
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ManualClock } from '../../src/domain/clock.js';
import { createHerald, type Herald } from '../../src/herald.js';
import type { Db } from '../../src/store/db.js';
import { rotateApiKey } from '../../src/store/api-keys.js';
import { DEFAULT_RETENTION, retentionOptionsFromEnv, type RetentionOptions } from '../../src/retention/config.js';
import { drainAll, engines, openTestDb, writeWorkflowsDir } from '../support/harness.js';

// The batch scenarios took 19-30 s on PGlite on a loaded 2-core machine (the suite's limit is 30 s).
const TIMEOUT = 120_000;
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const retention: Partial<RetentionOptions> = {
  runsMs: 30 * DAY, messagesMs: 10 * DAY, feedMs: 100 * DAY, batchesMs: 30 * DAY, throttleWindowsMs: HOUR,
  cancellationsMs: 30 * DAY, schedulesMs: 30 * DAY, retiredKeysMs: 7 * DAY, intervalMs: 0, batchSize: 2, maxBatchesPerPass: 1000,
};

const feedStep = { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: '{{ total_activities }} for {{ recipient.id }}' } };
const batchStep = (days = 0) => ({ ref: 'collect', type: 'batch', settings: { batch_window: days ? { unit: 'days', value: days } : { unit: 'minutes', value: 10 } } });
const workflows = [
  // A batch that produces no message: nothing but the runs needs it once it is flushed.
  { key: 'silent', name: 'Silent', steps: [batchStep()] },
  // A batch whose feed message shows its activities.
  { key: 'digest', name: 'Digest', steps: [batchStep(), feedStep] },
  // A batch whose carrying run waits long after the flush.
  { key: 'slow', name: 'Slow', steps: [batchStep(), { ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'days', value: 300 } } }, feedStep] },
  // A batch window that stays open for a long time.
  { key: 'long', name: 'Long', steps: [batchStep(400), feedStep] },
  { key: 'alerts', name: 'Alerts', steps: [{ ref: 'gate', type: 'throttle', settings: { throttle_window: { unit: 'hours', value: 1 }, throttle_limit: 1 } }, feedStep] },
  { key: 'later', name: 'Later', steps: [{ ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'days', value: 1 } } }, feedStep] },
];

interface Started { herald: Herald; db: Db; url: string; key: string; clock: ManualClock }

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

async function start(engine: 'pglite' | 'postgres'): Promise<Started> {
  const clock = new ManualClock('2026-03-01T12:00:00Z');
  const db = await openTestDb(engine);
  cleanups.push(() => db.close());
  const herald = await createHerald({ db, clock, logger: pino({ level: 'silent' }), workflowsDir: writeWorkflowsDir(workflows), retention, rateLimits: { perKey: 0, perUser: 0 } });
  await herald.app.listen({ port: 0, host: '127.0.0.1' });
  const address = herald.app.server.address();
  cleanups.push(() => herald.close());
  return { herald, db, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, key: herald.keys.secret, clock };
}

async function api(s: Started, method: string, path: string, body?: unknown, key = s.key) {
  const res = await fetch(s.url + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function trigger(s: Started, workflow: string, recipients: string[], extra: Record<string, unknown> = {}) {
  const res = await api(s, 'POST', `/v1/workflows/${workflow}/trigger`, { recipients, ...extra });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

const rows = <T = Record<string, unknown>>(db: Db, sql: string, params: unknown[] = []) => db.query<T>(sql, params);
const countRows = async (db: Db, sql: string, params: unknown[] = []) => (await rows<{ n: number }>(db, `SELECT count(*)::int AS n FROM ${sql}`, params))[0].n;
/** The batches left, by workflow and recipient, with their member count. */
const batchesLeft = async (db: Db) => (await rows<{ b: string }>(db,
  `SELECT b.workflow_key || ':' || b.recipient_id || ':' || b.status || ':' || (SELECT count(*) FROM batch_members m WHERE m.batch_id = b.id) AS b
     FROM batches b ORDER BY 1`)).map((r) => r.b);

describe.each(engines)('retention of batches, throttle windows, cancellations, schedules and retired keys (%s)', (engine) => {
  it('deletes a closed batch with its members once flushed past the batch age; one flushed 1 ms later and an open one stay', async () => {
    const s = await start(engine);
    await trigger(s, 'silent', ['ada']);
    await trigger(s, 'silent', ['ada']);
    await trigger(s, 'silent', ['ada']);
    await drainAll(s.herald);
    s.clock.advance(2);
    await trigger(s, 'silent', ['bob']);
    await trigger(s, 'long', ['cy']);
    await drainAll(s.herald);
    s.clock.advance(10 * MIN - 2); // ada's window closes now, bob's in 2 ms
    await drainAll(s.herald);
    const t0 = s.clock.now().getTime();
    s.clock.advance(2);
    await drainAll(s.herald);
    expect(await batchesLeft(s.db)).toEqual(['long:cy:open:1', 'silent:ada:closed:3', 'silent:bob:closed:1']);

    s.clock.advance(t0 + 30 * DAY + 1 - s.clock.now().getTime()); // cutoff t0 + 1 ms: ada's flush is 1 ms past it, bob's 1 ms short
    await drainAll(s.herald);
    expect(await batchesLeft(s.db)).toEqual(['long:cy:open:1', 'silent:bob:closed:1']);
    s.clock.advance(2);
    await drainAll(s.herald);
    expect(await batchesLeft(s.db)).toEqual(['long:cy:open:1']);
    expect(await countRows(s.db, 'batch_members m WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = m.batch_id)')).toBe(0);
  }, TIMEOUT);

  it('keeps a closed batch while a message shows its activities or a member run still runs; walks past them to older-than-age batches behind', async () => {
    const s = await start(engine);
    await trigger(s, 'digest', ['ada']);
    await trigger(s, 'digest', ['ada']);
    await trigger(s, 'slow', ['bob']);
    await drainAll(s.herald);
    s.clock.advance(1);
    // Flushed 1 ms after the two above, so a sweep in flush order meets the kept ones first.
    for (const u of ['u1', 'u2', 'u3']) await trigger(s, 'silent', [u]);
    await drainAll(s.herald);
    s.clock.advance(10 * MIN - 1);
    await drainAll(s.herald);
    s.clock.advance(1);
    await drainAll(s.herald);
    expect(await countRows(s.db, `batches WHERE status = 'closed'`)).toBe(5);
    const feed = await api(s, 'GET', '/v1/users/ada/feeds/in-app-feed');
    expect(feed.body.entries).toHaveLength(1);
    const message = feed.body.entries[0].id as string;

    s.clock.advance(60 * DAY); // past the batch age and the run age, within the feed age
    await drainAll(s.herald);
    expect(await batchesLeft(s.db)).toEqual(['digest:ada:closed:2', 'slow:bob:closed:1']);
    expect((await api(s, 'GET', `/v1/messages/${message}/activities`)).body.items).toHaveLength(2);
    expect(await rows(s.db, `SELECT status FROM recipient_runs WHERE workflow_key = 'slow'`)).toEqual([{ status: 'paused' }]);

    s.clock.advance(41 * DAY); // ada's feed message is past the feed age: it goes, and then its batch
    await drainAll(s.herald);
    expect((await api(s, 'GET', `/v1/messages/${message}`)).status).toBe(404);
    expect(await batchesLeft(s.db)).toEqual(['slow:bob:closed:1']);
  }, TIMEOUT);

  it('deletes a throttle window closed longer ago than its age; one closed 1 ms later and an open one stay, and the key counts afresh', async () => {
    const s = await start(engine);
    const windows = async () => (await rows<{ count: number }>(s.db, `SELECT count FROM throttle_windows ORDER BY opened_at`)).map((r) => r.count);
    await trigger(s, 'alerts', ['ada']);
    await drainAll(s.herald); // ada's window: t0 .. t0 + 1 h
    s.clock.advance(2);
    await trigger(s, 'alerts', ['bob']);
    await drainAll(s.herald); // bob's: t0 + 2 ms .. t0 + 1 h + 2 ms
    s.clock.advance(HOUR + HOUR - 1); // cutoff t0 + 1 h + 1 ms
    await trigger(s, 'alerts', ['cy']); // cy's window is open
    await drainAll(s.herald);
    expect(await windows()).toEqual([1, 1]);
    s.clock.advance(2);
    await drainAll(s.herald);
    expect(await windows()).toEqual([1]);
    // ada's next alert opens a new window and is let through.
    await trigger(s, 'alerts', ['ada']);
    await drainAll(s.herald);
    expect(await windows()).toEqual([1, 1]);
    expect((await api(s, 'GET', '/v1/users/ada/feeds/in-app-feed')).body.entries).toHaveLength(2);
  }, TIMEOUT);

  it('deletes cancel records past the cancellation age; one 1 ms younger stays', async () => {
    const s = await start(engine);
    await trigger(s, 'later', ['ada'], { cancellation_key: 'k1' });
    await drainAll(s.herald);
    expect((await api(s, 'POST', '/v1/workflows/later/cancel', { cancellation_key: 'k1' })).status).toBe(204);
    s.clock.advance(2);
    expect((await api(s, 'POST', '/v1/workflows/later/cancel', { cancellation_key: 'k2' })).status).toBe(204);
    const keys = async () => (await rows<{ k: string }>(s.db, `SELECT cancellation_key AS k FROM cancellations ORDER BY k`)).map((r) => r.k);
    expect(await keys()).toEqual(['k1', 'k2']);
    s.clock.advance(30 * DAY - 1); // cutoff t0 + 1 ms
    await drainAll(s.herald);
    expect(await keys()).toEqual(['k2']);
    s.clock.advance(2);
    await drainAll(s.herald);
    expect(await keys()).toEqual([]);
  }, TIMEOUT);

  it('deletes a schedule that finished past the schedule age; one that finished 1 ms later and a repeating one stay', async () => {
    const s = await start(engine);
    const create = async (body: Record<string, unknown>) => {
      const res = await api(s, 'POST', '/v1/schedules', { workflow: 'later', recipients: ['ada'], ...body });
      expect(res.status).toBe(200);
      return res.body[0].id as string;
    };
    const first = await create({ scheduled_at: '2026-03-02T00:00:00.000Z' });
    const second = await create({ scheduled_at: '2026-03-02T00:00:00.002Z' });
    const repeating = await create({ repeats: [{ frequency: 'daily', hours: 9 }] });
    s.clock.set(new Date('2026-03-02T00:00:00.002Z'));
    await drainAll(s.herald);
    const entries = async () => (await api(s, 'GET', '/v1/schedules?workflow=later')).body.entries as { id: string; next_occurrence_at: string | null }[];
    const left = async () => (await entries()).map((e) => e.id).sort();
    // Both one-offs fired and are finished; the repeating one has a next occurrence.
    expect((await entries()).filter((e) => e.next_occurrence_at === null).map((e) => e.id).sort()).toEqual([first, second].sort());

    s.clock.set(new Date(Date.parse('2026-03-02T00:00:00.001Z') + 30 * DAY)); // cutoff: 1 ms after the first fired
    await drainAll(s.herald);
    expect(await left()).toEqual([second, repeating].sort());
    s.clock.advance(2);
    await drainAll(s.herald);
    expect(await left()).toEqual([repeating]);
  }, TIMEOUT);

  it('deletes a rotated-out key once its grace ended longer ago than the retired-key age; a key in its grace period stays and still works', async () => {
    const s = await start(engine);
    // The API checks a key's grace against the real time: start the clock there.
    s.clock.set(new Date());
    const t0 = s.clock.now();
    const rotate = (ms: number, grace: number) => rotateApiKey(s.db, 'secret', grace, new Date(t0.getTime() + ms));
    // Three rotations while the earlier keys are still in grace (a rotation prunes expired ones itself).
    const first = await rotate(0, DAY); // the first key expires at t0 + 1 d
    const second = await rotate(2, DAY); // the second at t0 + 1 d + 2 ms
    const third = await rotate(4, 30 * DAY); // the third at t0 + 30 d + 4 ms
    const retired = async () => (await rows<{ key: string }>(s.db, `SELECT key FROM api_keys_retired ORDER BY expires_at`)).map((r) => r.key);
    expect(await retired()).toEqual([first.previous, second.previous, third.previous]);

    s.clock.advance(DAY + 7 * DAY + 1); // cutoff t0 + 1 d + 1 ms
    await drainAll(s.herald);
    expect(await retired()).toEqual([second.previous, third.previous]);
    s.clock.advance(2);
    await drainAll(s.herald);
    expect(await retired()).toEqual([third.previous]);
    // The key in its grace period still authenticates (the key set is re-read on the rotations' NOTIFY).
    let status = 0;
    for (let i = 0; i < 100 && (status = (await api(s, 'GET', '/v1/users/ada', undefined, third.previous)).status) === 401; i++) await new Promise((r) => setTimeout(r, 20));
    expect(status).not.toBe(401);
  }, TIMEOUT);
});

describe('retention settings of the later kinds from the environment', () => {
  it('reads days and minutes, takes 0 and "off" as forever', () => {
    expect(DEFAULT_RETENTION).toMatchObject({ batchesMs: 30 * DAY, throttleWindowsMs: HOUR, cancellationsMs: 30 * DAY, schedulesMs: 30 * DAY, retiredKeysMs: 7 * DAY });
    expect(retentionOptionsFromEnv({
      HERALD_RETENTION_BATCHES_DAYS: '400', HERALD_RETENTION_THROTTLE_WINDOWS_MINUTES: '5', HERALD_RETENTION_CANCELLATIONS_DAYS: 'off',
      HERALD_RETENTION_SCHEDULES_DAYS: '0', HERALD_RETENTION_RETIRED_KEYS_DAYS: '0.5',
    })).toMatchObject({ batchesMs: 400 * DAY, throttleWindowsMs: 5 * MIN, cancellationsMs: null, schedulesMs: null, retiredKeysMs: DAY / 2 });
    expect(() => retentionOptionsFromEnv({ HERALD_RETENTION_BATCHES_DAYS: 'a year' })).toThrow('HERALD_RETENTION_BATCHES_DAYS must be a number ≥ 0');
  });
});
