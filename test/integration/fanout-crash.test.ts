import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ManualClock } from '../../src/domain/clock.js';
import { createHerald, type Herald } from '../../src/herald.js';
import { openPostgres } from '../../src/store/pg-adapter.js';
import { claimFanoutPage, commitFanoutPage, releaseFanoutPage } from '../../src/store/fanouts.js';
import { FANOUT_LEASE_MS } from '../../src/engine/fanout-page.js';
import type { Db } from '../../src/store/db.js';
import { drainAll, engines, startTestHerald, writeWorkflowsDir, type TestHerald } from '../support/harness.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const hello = {
  key: 'hello',
  name: 'Hello',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'hi {{ recipient.id }}' } }],
};
const big = { id: 'big', collection: 'projects' };

/** Subscribers created with SQL: the set-up is not what these tests are about. */
async function subscribe(db: Db, count: number) {
  await db.query(`INSERT INTO entities (collection, id, properties, inserted_at, updated_at) VALUES ('projects', 'big', '{}', now(), now())`);
  await db.query(`INSERT INTO entities (collection, id, properties, inserted_at, updated_at)
                  SELECT '$users', 'u' || g, '{}', now(), now() FROM generate_series(1, $1) g`, [count]);
  await db.query(`INSERT INTO subscriptions (object_collection, object_id, recipient_collection, recipient_id, inserted_at, updated_at)
                  SELECT 'projects', 'big', '$users', 'u' || g, now(), now() FROM generate_series(1, $1) g`, [count]);
}

/** Every recipient reached exactly once: one run and one message each. */
async function exactlyOnce(db: Db) {
  const [counts] = await db.query<{ runs: number; distinct_runs: number; messages: number; distinct_messages: number }>(
    `SELECT (SELECT count(*) FROM recipient_runs)::int AS runs,
            (SELECT count(DISTINCT (recipient_collection, recipient_id)) FROM recipient_runs)::int AS distinct_runs,
            (SELECT count(*) FROM messages)::int AS messages,
            (SELECT count(DISTINCT (recipient_collection, recipient_id)) FROM messages)::int AS distinct_messages`,
  );
  return counts;
}

describe.each(engines)('fan-out checkpoints (%s)', (engine) => {
  let t: TestHerald;
  afterEach(async () => { await t.close(); });

  it('a page whose process dies before its commit is redone whole once its lease ends: nobody lost, nobody twice', async () => {
    t = await startTestHerald(engine, { workflows: [hello], fanoutPageSize: 3 });
    await subscribe(t.db, 7);
    await t.knock.workflows.trigger('hello', { recipients: [big] });
    // Another process reserves the fan-out's first page (u1-u3) and "dies" before committing it.
    const now = t.clock.now();
    const page = await claimFanoutPage(t.db, 'doomed', 3, now, new Date(now.getTime() + FANOUT_LEASE_MS));
    expect(page?.subscribers.map((s) => s.id)).toEqual(['u1', 'u2', 'u3']);
    await t.drain();
    // The other pages are expanded meanwhile; the dead process's page waits for its lease to end.
    expect((await exactlyOnce(t.db)).runs).toBe(1 + 4);
    t.clock.advance(FANOUT_LEASE_MS + 1);
    await t.drain();
    expect(await exactlyOnce(t.db)).toEqual({ runs: 8, distinct_runs: 8, messages: 8, distinct_messages: 8 });
  });

  it('a page given back after its planning failed is taken over at once, without waiting for its lease', async () => {
    t = await startTestHerald(engine, { workflows: [hello], fanoutPageSize: 10 });
    await subscribe(t.db, 3);
    await t.knock.workflows.trigger('hello', { recipients: [big] });
    const now = t.clock.now();
    const page = (await claimFanoutPage(t.db, 'failing', 10, now, new Date(now.getTime() + FANOUT_LEASE_MS)))!;
    await releaseFanoutPage(t.db, 'failing', page.pageId!);
    await t.drain();
    expect(await exactlyOnce(t.db)).toEqual({ runs: 4, distinct_runs: 4, messages: 4, distinct_messages: 4 });
  });

  it('a page planned before a cancel of some recipients is not committed; it is planned again with the cancel applied', async () => {
    t = await startTestHerald(engine, { workflows: [hello], fanoutPageSize: 10 });
    await subscribe(t.db, 3);
    await t.knock.workflows.trigger('hello', { recipients: [big], cancellation_key: 'k' });
    // A page is reserved and read (its runs would be planned here), then a cancel names u2 ...
    const now = t.clock.now();
    const page = (await claimFanoutPage(t.db, 'slow', 10, now, new Date(now.getTime() + FANOUT_LEASE_MS)))!;
    expect(page.subscribers.map((s) => s.id)).toEqual(['u1', 'u2', 'u3']);
    await t.knock.workflows.cancel('hello', { cancellation_key: 'k', recipients: ['u2'] });
    // ... so the planned page no longer holds and writes nothing.
    const runs = page.subscribers.map((s) => ({ id: crypto.randomUUID(), collection: s.collection, recipientId: s.id, status: 'queued' as const, position: 0, state: {}, wakeAt: now }));
    expect(await commitFanoutPage(t.db, 'slow', page, runs, [], now, null)).toBeNull();
    expect((await exactlyOnce(t.db)).runs).toBe(1);
    await t.drain();
    const rows = await t.db.query<{ recipient_id: string; status: string }>(`SELECT recipient_id, status FROM recipient_runs WHERE recipient_collection = '$users' ORDER BY recipient_id`);
    expect(rows).toEqual([{ recipient_id: 'u1', status: 'completed' }, { recipient_id: 'u2', status: 'cancelled' }, { recipient_id: 'u3', status: 'completed' }]);
    const messages = await t.db.query<{ recipient_id: string }>(`SELECT recipient_id FROM messages WHERE recipient_collection = '$users' ORDER BY recipient_id`);
    expect(messages.map((m) => m.recipient_id)).toEqual(['u1', 'u3']);
  });
});

describe.skipIf(!process.env.DATABASE_URL)('fan-out survives a killed worker process (postgres)', () => {
  let herald: Herald | undefined;
  let db: Db | undefined;
  afterEach(async () => {
    await herald?.close();
    await db?.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await db?.close();
  });
  const schema = `herald_t_${randomBytes(6).toString('hex')}`;

  it('SIGKILL mid-fan-out: another process resumes it and every subscriber gets exactly one message', async () => {
    const N = 10_000;
    db = await openPostgres({ connectionString: process.env.DATABASE_URL!, schema, max: 4 });
    const setup = await createHerald({ db, logger: pino({ level: 'silent' }), workflowsDir: writeWorkflowsDir([hello]) });
    await subscribe(db, N);
    await setup.engine.trigger('hello', { recipients: [big] }, {});
    await setup.close();

    const child = spawn(process.execPath, ['--import', 'tsx', 'test/integration/fixtures/fanout-child.ts'], {
      cwd: ROOT, env: { ...process.env, HERALD_TEST_SCHEMA: schema, HERALD_FANOUT_PAGE: '200' },
    });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const end = Date.now() + 60_000;
    while (!/runs (\d{4,})/.test(output)) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`the child never got going: ${output}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const [{ status }] = await db.query<{ status: string }>(`SELECT status FROM fanouts`);
    expect(status).toBe('pending'); // killed half-way, or the test proves nothing

    // A new process (clock past the dead worker's leases) finishes the job.
    herald = await createHerald({ db, logger: pino({ level: 'silent' }), clock: new ManualClock(new Date(Date.now() + 60_000)) });
    await drainAll(herald);
    expect(await exactlyOnce(db)).toEqual({ runs: N + 1, distinct_runs: N + 1, messages: N + 1, distinct_messages: N + 1 });
  }, 120_000);
});
