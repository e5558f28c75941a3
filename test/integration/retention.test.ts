/**
 * Data retention (issue 15, item 7): the background task deletes exactly what is past its age,
 * children with their parents, never a live run, never a message still in a feed within the
 * feed retention, and two processes pruning at once delete each row once without an error.
 * Ages are short multiples of a day under the manual clock; passes run at every drain
 * (interval 0) in batches of 2, so every kind takes several batches.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ManualClock } from '../../src/domain/clock.js';
import { createHerald, type Herald } from '../../src/herald.js';
import type { Db } from '../../src/store/db.js';
import { DEFAULT_RETENTION, retentionOptionsFromEnv, type RetentionOptions } from '../../src/retention/config.js';
import { drainAll, engines, openTestDb, writeWorkflowsDir } from '../support/harness.js';
import { openSharedDb, type SharedDb } from '../support/two-heralds.js';

const DAY = 86_400_000;
const feedStep = { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hi {{ recipient.id }}' } };
const hello = { key: 'hello', name: 'Hello', steps: [feedStep] };
const later = { key: 'later', name: 'Later', steps: [{ ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'days', value: 300 } } }, feedStep] };
const retention: Partial<RetentionOptions> = { runsMs: 30 * DAY, messagesMs: 10 * DAY, feedMs: 100 * DAY, intervalMs: 0, batchSize: 2, maxBatchesPerPass: 1000 };

interface Started { herald: Herald; db: Db; url: string; key: string; logs: string[] }

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

async function start(db: Db, clock: ManualClock, workflows: Record<string, unknown>[] = [hello, later]): Promise<Started> {
  const logs: string[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done(); } });
  const herald = await createHerald({ db, clock, logger: pino({ level: 'warn' }, sink), workflowsDir: writeWorkflowsDir(workflows), retention, rateLimits: { perKey: 0, perUser: 0 } });
  await herald.app.listen({ port: 0, host: '127.0.0.1' });
  const address = herald.app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  cleanups.push(() => herald.close());
  return { herald, db, url, key: herald.keys.secret, logs };
}

async function startOne(engine: 'pglite' | 'postgres', clock: ManualClock): Promise<Started> {
  const db = await openTestDb(engine);
  cleanups.push(() => db.close());
  return start(db, clock);
}

async function api(s: Started, method: string, path: string, body?: unknown) {
  const res = await fetch(s.url + path, {
    method,
    headers: { authorization: `Bearer ${s.key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function trigger(s: Started, workflow: string, recipients: string[]): Promise<string> {
  const res = await api(s, 'POST', `/v1/workflows/${workflow}/trigger`, { recipients });
  expect(res.status).toBe(200);
  return res.body.workflow_run_id as string;
}

const countRows = async (db: Db, sql: string, params: unknown[] = []) => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params))[0].n;

async function messageOf(s: Started, user: string): Promise<string> {
  const feed = await api(s, 'GET', `/v1/users/${user}/feeds/in-app-feed?archived=include`);
  expect(feed.body.entries).toHaveLength(1);
  return feed.body.entries[0].id as string;
}

describe.each(engines)('retention (%s)', (engine) => {
  it('deletes finished runs past the run age with their events and trigger; a run that finished 1 ms later stays', async () => {
    const clock = new ManualClock('2026-03-01T12:00:00Z');
    const s = await startOne(engine, clock);
    const old = await trigger(s, 'hello', ['old-1', 'old-2', 'old-3']);
    await drainAll(s.herald); // finished at t0
    clock.advance(2);
    const young = await trigger(s, 'hello', ['young']);
    await drainAll(s.herald); // finished at t0 + 2 ms
    expect(await countRows(s.db, `recipient_runs WHERE status = 'completed'`)).toBe(4);

    // The cutoff is t0 + 1 ms: the old runs are 1 ms past it, the young one 1 ms short of it.
    clock.advance(30 * DAY - 1);
    await drainAll(s.herald);
    expect(await countRows(s.db, 'recipient_runs WHERE workflow_run_id = $1', [old])).toBe(0);
    expect(await countRows(s.db, 'run_events e WHERE NOT EXISTS (SELECT 1 FROM recipient_runs r WHERE r.id = e.recipient_run_id)')).toBe(0);
    expect(await countRows(s.db, 'workflow_triggers WHERE id = $1', [old])).toBe(0);
    expect(await countRows(s.db, 'recipient_runs WHERE workflow_run_id = $1', [young])).toBe(1);
    expect(await countRows(s.db, 'run_events e JOIN recipient_runs r ON r.id = e.recipient_run_id WHERE r.workflow_run_id = $1', [young])).toBeGreaterThan(0);
    expect(await countRows(s.db, 'workflow_triggers WHERE id = $1', [young])).toBe(1);
    // The messages are feed messages within the feed age: they stay, and the feed still shows them.
    expect((await api(s, 'GET', '/v1/users/old-1/feeds/in-app-feed')).body.entries).toHaveLength(1);

    clock.advance(2);
    await drainAll(s.herald);
    expect(await countRows(s.db, 'recipient_runs')).toBe(0);
    expect(await countRows(s.db, 'run_events')).toBe(0);
    expect(await countRows(s.db, 'workflow_triggers')).toBe(0);
  });

  it('keeps a message in its feed until the feed age, far past the messages age; then it goes with its events', async () => {
    const clock = new ManualClock('2026-03-01T12:00:00Z');
    const s = await startOne(engine, clock);
    await trigger(s, 'hello', ['ada']);
    await drainAll(s.herald);
    const id = await messageOf(s, 'ada');
    expect((await api(s, 'PUT', `/v1/messages/${id}/seen`)).status).toBe(200);
    expect(await countRows(s.db, 'message_events WHERE message_id = $1', [id])).toBeGreaterThan(0);

    clock.advance(100 * DAY); // exactly the feed age: not past it
    await drainAll(s.herald);
    expect((await api(s, 'GET', `/v1/messages/${id}`)).status).toBe(200);
    expect((await api(s, 'GET', '/v1/users/ada/feeds/in-app-feed')).body.entries.map((e: { id: string }) => e.id)).toEqual([id]);

    clock.advance(1);
    await drainAll(s.herald);
    expect((await api(s, 'GET', `/v1/messages/${id}`)).status).toBe(404);
    expect(await countRows(s.db, 'message_events WHERE message_id = $1', [id])).toBe(0);
  });

  it('deletes an archived feed message once the messages age has passed since it was archived', async () => {
    const clock = new ManualClock('2026-03-01T12:00:00Z');
    const s = await startOne(engine, clock);
    await trigger(s, 'hello', ['ada', 'bob']);
    await drainAll(s.herald);
    const adas = await messageOf(s, 'ada');
    const bobs = await messageOf(s, 'bob');
    clock.advance(50 * DAY);
    expect((await api(s, 'PUT', `/v1/messages/${adas}/archived`)).status).toBe(200);

    clock.advance(10 * DAY); // archived exactly the messages age ago
    await drainAll(s.herald);
    expect((await api(s, 'GET', `/v1/messages/${adas}`)).status).toBe(200);
    clock.advance(1);
    await drainAll(s.herald);
    expect((await api(s, 'GET', `/v1/messages/${adas}`)).status).toBe(404);
    expect(await countRows(s.db, 'message_events WHERE message_id = $1', [adas])).toBe(0);
    // Bob's message is as old but still in his feed.
    expect((await api(s, 'GET', `/v1/messages/${bobs}`)).status).toBe(200);
  });

  it('deletes messages of other channels at the messages age with their events, delivery job, delivery logs and provider id', async () => {
    const clock = new ManualClock('2026-03-01T12:00:00Z');
    const s = await startOne(engine, clock);
    const [{ id: channel }] = await s.db.query<{ id: string }>(
      `INSERT INTO channels (id, key, type, provider, name) VALUES (gen_random_uuid(), 'mail', 'email', 'smtp', 'Mail') RETURNING id`);
    // Past traffic, as the email step writes it: the message with the provider's id for it, its
    // events, a job and a log.
    const t0 = clock.now().getTime();
    for (const [id, at] of [['old', t0], ['young', t0 + 2]] as const) {
      const when = new Date(at);
      await s.db.query(`INSERT INTO messages (id, channel_id, recipient_collection, recipient_id, workflow_key, status, inserted_at, updated_at, provider, external_id)
                        VALUES ($1, $2, '$users', 'ada', 'hello', 'sent', $3, $3, 'smtp', $1 || '@mail')`, [id, channel, when]);
      await s.db.query(`INSERT INTO message_external_ids (provider, external_id, message_id) VALUES ('smtp', $1 || '@mail', $1)`, [id]);
      await s.db.query(`INSERT INTO message_events (id, message_id, type, inserted_at) VALUES (gen_random_uuid(), $1, 'message.sent', $2)`, [id, when]);
      await s.db.query(`INSERT INTO deliveries (message_id, channel_id, next_attempt_at, created_at) VALUES ($1, $2, $3, $3)`, [id, channel, new Date(at + 1000 * DAY)]);
      await s.db.query(`INSERT INTO message_delivery_logs (id, message_id, attempt, service_name, request, response, inserted_at)
                        VALUES (gen_random_uuid(), $1, 1, 'smtp', '{}', '{}', $2)`, [id, when]);
    }
    clock.advance(10 * DAY + 1); // cutoff t0 + 1 ms
    await s.herald.background.drain(); // retention only: the delivery jobs are not due
    expect((await api(s, 'GET', '/v1/messages/old')).status).toBe(404);
    expect((await api(s, 'GET', '/v1/messages/young')).status).toBe(200);
    for (const table of ['message_events', 'deliveries', 'message_delivery_logs', 'message_external_ids']) {
      expect(await countRows(s.db, `${table} WHERE message_id = 'old'`), table).toBe(0);
      expect(await countRows(s.db, `${table} WHERE message_id = 'young'`), table).toBe(1);
    }
  });

  it('never deletes a paused or queued run, however old', async () => {
    const clock = new ManualClock('2026-03-01T12:00:00Z');
    const s = await startOne(engine, clock);
    const paused = await trigger(s, 'later', ['ada']);
    await drainAll(s.herald);
    const queued = await trigger(s, 'hello', ['bob']);
    clock.advance(200 * DAY);
    await s.herald.background.drain(); // not the run worker: bob's run stays queued
    expect(await s.db.query(`SELECT workflow_run_id, status FROM recipient_runs ORDER BY status`)).toEqual([
      { workflow_run_id: paused, status: 'paused' },
      { workflow_run_id: queued, status: 'queued' },
    ]);
    expect(await countRows(s.db, 'workflow_triggers')).toBe(2);
    expect(await countRows(s.db, 'run_events e JOIN recipient_runs r ON r.id = e.recipient_run_id WHERE r.workflow_run_id = $1', [paused])).toBeGreaterThan(0);
  });

  it('deletes a bulk operation that finished past the bulk age; one that finished 1 ms later stays', async () => {
    const clock = new ManualClock('2026-03-01T12:00:00Z');
    const s = await startOne(engine, clock);
    const old = await api(s, 'POST', '/v1/users/bulk/identify', { users: [{ id: 'ada' }] });
    await drainAll(s.herald); // finished at t0
    clock.advance(2);
    const young = await api(s, 'POST', '/v1/users/bulk/identify', { users: [{ id: 'bob' }] });
    await drainAll(s.herald); // finished at t0 + 2 ms
    expect((await api(s, 'GET', `/v1/bulk_operations/${young.body.id}`)).body.status).toBe('completed');
    clock.advance(30 * DAY - 1); // cutoff t0 + 1 ms
    await drainAll(s.herald);
    expect((await api(s, 'GET', `/v1/bulk_operations/${old.body.id}`)).status).toBe(404);
    expect((await api(s, 'GET', `/v1/bulk_operations/${young.body.id}`)).status).toBe(200);
  });

  it('deletes idempotency records once their 24 h are over; a record 1 ms short of it stays', async () => {
    const clock = new ManualClock('2026-03-01T12:00:00Z');
    const s = await startOne(engine, clock);
    const post = (key: string) => fetch(`${s.url}/v1/workflows/hello/trigger`, {
      method: 'POST', headers: { authorization: `Bearer ${s.key}`, 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify({ recipients: ['ada'] }),
    });
    expect((await post('first')).status).toBe(200);
    clock.advance(2);
    expect((await post('second')).status).toBe(200);
    clock.advance(24 * 3_600_000 - 1); // first expired 1 ms ago, second expires in 1 ms
    await drainAll(s.herald);
    expect(await s.db.query(`SELECT key FROM idempotency_keys ORDER BY key`)).toEqual([{ key: 'second' }]);
  });

  it('deletes a workflow version that is no longer current once no trigger uses it', async () => {
    const clock = new ManualClock('2026-03-01T12:00:00Z');
    const first = await startOne(engine, clock);
    await trigger(first, 'hello', ['ada']);
    await drainAll(first.herald);
    const [{ sha: v1 }] = await first.db.query<{ sha: string }>(`SELECT sha FROM workflows WHERE key = 'hello'`);
    // A deploy with a changed template: version 2 becomes current; the run of version 1 remains.
    clock.advance(DAY);
    const changed = { ...hello, steps: [{ ...feedStep, template: { markdown_body: 'Hello {{ recipient.id }}' } }] };
    const second = await start(first.db, clock, [changed, later]);
    const [{ sha: v2 }] = await second.db.query<{ sha: string }>(`SELECT sha FROM workflows WHERE key = 'hello'`);
    expect(v2).not.toBe(v1);

    clock.advance(29 * DAY); // version 1 is past the versions age, but its trigger is not past the run age
    await drainAll(second.herald);
    expect((await second.db.query<{ sha: string }>(`SELECT sha FROM workflow_versions WHERE workflow_key = 'hello' ORDER BY created_at`)).map((r) => r.sha)).toEqual([v1, v2]);

    clock.advance(DAY); // the run and its trigger go, then version 1
    await drainAll(second.herald);
    expect(await countRows(second.db, 'workflow_triggers')).toBe(0);
    expect((await second.db.query<{ sha: string }>(`SELECT sha FROM workflow_versions WHERE workflow_key = 'hello'`)).map((r) => r.sha)).toEqual([v2]);
  });

  it('two processes pruning at once delete each row once and never fail', async () => {
    const clock = new ManualClock('2026-03-01T12:00:00Z');
    const shared: SharedDb = await openSharedDb(engine);
    cleanups.push(() => shared.close());
    const a = await start(shared.dbs[0], clock);
    const b = await start(shared.dbs[1], clock);
    const users = Array.from({ length: 40 }, (_, i) => `u${i}`);
    for (let i = 0; i < 4; i++) await trigger(a, 'hello', users.slice(i * 10, i * 10 + 10));
    await drainAll(a.herald);
    clock.advance(31 * DAY); // runs and triggers are due, the feed messages are not
    const [da, db] = await Promise.all([a.herald.background.drain(), b.herald.background.drain()]);
    expect([...a.logs, ...b.logs]).toEqual([]);
    expect(da + db).toBe(40 + 4);
    expect(await countRows(a.db, 'recipient_runs')).toBe(0);
    expect(await countRows(a.db, 'workflow_triggers')).toBe(0);
    expect(await countRows(a.db, 'messages')).toBe(40);
  });
});

describe('retention settings from the environment', () => {
  it('reads ages in days, takes 0 and "off" as forever, and refuses what is not a number', () => {
    expect(retentionOptionsFromEnv({})).toEqual(DEFAULT_RETENTION);
    const o = retentionOptionsFromEnv({
      HERALD_RETENTION_RUNS_DAYS: '7', HERALD_RETENTION_MESSAGES_DAYS: '0', HERALD_RETENTION_FEED_DAYS: 'off',
      HERALD_RETENTION_IDEMPOTENCY: 'off', HERALD_RETENTION_RATE_LIMITS_MINUTES: '0.5', HERALD_RETENTION_INTERVAL_SECONDS: '60',
    });
    expect(o).toMatchObject({ enabled: true, runsMs: 7 * DAY, messagesMs: null, feedMs: null, idempotency: false, rateLimitWindowsMs: 30_000, intervalMs: 60_000 });
    expect(retentionOptionsFromEnv({ HERALD_RETENTION: 'off' }).enabled).toBe(false);
    expect(() => retentionOptionsFromEnv({ HERALD_RETENTION_RUNS_DAYS: 'a month' })).toThrow('HERALD_RETENTION_RUNS_DAYS must be a number ≥ 0, got "a month"');
    expect(() => retentionOptionsFromEnv({ HERALD_RETENTION_BATCH_SIZE: '0' })).toThrow('HERALD_RETENTION_BATCH_SIZE must be a number ≥ 1');
  });
});
