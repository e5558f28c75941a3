import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ManualClock } from '../../src/domain/clock.js';
import { createHerald, type Herald } from '../../src/herald.js';
import { openPostgres } from '../../src/store/pg-adapter.js';
import { RunWorker } from '../../src/queue/run-worker.js';
import type { Db } from '../../src/store/db.js';
import { engines, startTestHerald, writeWorkflowsDir, type TestHerald } from '../support/harness.js';

const hello = {
  key: 'hello',
  name: 'Hello',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'hi {{ recipient.id }}' } }],
};

describe.each(engines)('worker recovery (%s)', (engine) => {
  let t: TestHerald;
  afterEach(async () => { await t.close(); });

  it('a run claimed by a worker that died is taken over after its lease, with one message', async () => {
    t = await startTestHerald(engine, { workflows: [hello] });
    await t.knock.workflows.trigger('hello', { recipients: ['ada'] });
    const worker = t.herald.worker as any;
    const advance = worker.opts.engine.advanceBatch;
    // The "dead" worker claims the run and never checkpoints it.
    worker.opts.engine.advanceBatch = async () => { throw new Error('worker killed'); };
    expect(await worker.tick()).toBe(1);
    worker.opts.engine.advanceBatch = advance;
    // Within the lease nobody else may take it.
    expect(await t.drain()).toBe(0);
    t.clock.advance(21_000);
    expect(await t.drain()).toBe(1);
    expect((await t.knock.users.listMessages('ada')).items).toHaveLength(1);
  });

  it('a live worker\'s heartbeat keeps a slow batch from being taken over', async () => {
    t = await startTestHerald(engine, { workflows: [hello] });
    await t.knock.workflows.trigger('hello', { recipients: ['ada'] });
    const engineApi = (t.herald.worker as any).opts.engine;
    const logger = pino({ level: 'silent' });
    let stolen = -1;
    const other = new RunWorker({ db: t.db, clock: t.clock, logger, engine: engineApi, leaseMs: 3000 });
    const slow = new RunWorker({
      db: t.db, clock: t.clock, logger, leaseMs: 3000,
      engine: {
        advanceBatch: async (runs: any[], owner: string) => {
          t.clock.advance(5000); // the lease taken at claim time has now run out...
          await new Promise((r) => setTimeout(r, 2500)); // ...but the heartbeat (every 1 s) renewed it
          stolen = await other.tick();
          return engineApi.advanceBatch(runs, owner);
        },
      },
    });
    expect(await slow.tick()).toBe(1);
    expect(stolen).toBe(0);
    expect((await t.knock.users.listMessages('ada')).items).toHaveLength(1);
  });

  it('a retried step never creates a second in-app message', async () => {
    t = await startTestHerald(engine, { workflows: [hello] });
    await t.knock.workflows.trigger('hello', { recipients: ['ada'] });
    await t.drain();
    // Replay the same run from the start as a crashed worker's successor would.
    await t.db.query(`UPDATE recipient_runs SET status = 'queued', position = 0, state = '{}', wake_at = $1`, [t.clock.now()]);
    await t.drain();
    expect((await t.knock.users.listMessages('ada')).items).toHaveLength(1);
  });
});

describe.runIf(!!process.env.DATABASE_URL)('several processes on one PostgreSQL', () => {
  const heralds: Herald[] = [];
  const dbs: Db[] = [];
  afterEach(async () => {
    for (const h of heralds.splice(0)) await h.close();
    await dbs[0]?.exec(`DROP SCHEMA IF EXISTS herald_multi CASCADE`).catch(() => {});
    for (const d of dbs.splice(0)) await d.close();
  });

  it('share the runs without processing any of them twice', async () => {
    const clock = new ManualClock('2026-03-01T12:00:00Z');
    const dir = writeWorkflowsDir([hello]);
    const claimedBy = new Map<string, number>();
    for (const name of ['a', 'b', 'c']) {
      const db = await openPostgres({ connectionString: process.env.DATABASE_URL!, schema: 'herald_multi', max: 4 });
      dbs.push(db);
      const h = await createHerald({ db, clock, logger: pino({ level: process.env.HERALD_TEST_LOG ?? 'silent' }), workflowsDir: dir, workerId: name, pollIntervalMs: 20 });
      const w = h.worker as any;
      w.batchSize = 10;
      const advance = w.opts.engine.advanceBatch;
      w.opts.engine.advanceBatch = async (runs: any[], owner: string) => {
        claimedBy.set(name, (claimedBy.get(name) ?? 0) + runs.length);
        // Held a moment, so that one process's claims in flight (4 × 10 runs) cannot take all
        // 300 runs before the others wake: with 100-run claims one process under CI load did.
        await new Promise((r) => setTimeout(r, 150));
        return advance(runs, owner);
      };
      heralds.push(h);
    }
    await heralds[0].app.listen({ port: 0, host: '127.0.0.1' });
    for (const h of heralds) h.worker.start();
    const recipients = Array.from({ length: 300 }, (_, i) => `user-${i}`);
    for (let i = 0; i < recipients.length; i += 100) {
      await heralds[0].engine.trigger('hello', { recipients: recipients.slice(i, i + 100) }, {});
    }
    const deadline = Date.now() + 20_000;
    let done = 0;
    while (Date.now() < deadline) {
      const [row] = await dbs[0].query<{ n: number }>(`SELECT count(*)::int AS n FROM recipient_runs WHERE status = 'completed'`);
      done = row.n;
      if (done === 300) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    if (done !== 300) console.log(await dbs[0].query('select status, lease_owner, count(*) from recipient_runs group by 1,2'));
    expect(done).toBe(300);
    const [starts] = await dbs[0].query<{ max: number; runs: number }>(
      `SELECT max(n)::int AS max, count(*)::int AS runs FROM (SELECT count(*) AS n FROM run_event_list WHERE event = 'run_started' GROUP BY recipient_run_id) x`);
    expect(starts).toEqual({ max: 1, runs: 300 });
    const [messages] = await dbs[0].query<{ n: number }>('SELECT count(*)::int AS n FROM messages');
    expect(messages.n).toBe(300);
    expect([...claimedBy.values()].reduce((a, b) => a + b, 0)).toBe(300);
    expect(claimedBy.size).toBeGreaterThan(1);
  });
});

describe.runIf(!!process.env.DATABASE_URL)('losing the database connection (PostgreSQL)', () => {
  let t: TestHerald;
  afterEach(async () => { await t.close(); });

  it('keeps working after every connection of this process is killed, losing no acknowledged run', async () => {
    t = await startTestHerald('postgres', { workflows: [hello] });
    const acked = await t.knock.workflows.trigger('hello', { recipients: ['ada'] });
    // What a database restart does to a client: every open connection is terminated.
    const [{ schema }] = await t.db.query<{ schema: string }>('SELECT current_schema() AS schema');
    const killer = await openPostgres({ connectionString: process.env.DATABASE_URL!, max: 1 });
    const killed = await killer.query<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name IN ($1, $2)`,
      [schema, `${schema}-listen`],
    );
    expect(killed.length).toBeGreaterThan(0);
    await killer.close();
    // The pool replaces dead connections; the first query after the kill may fail, later ones succeed.
    let drained = 0;
    for (let i = 0; i < 5 && drained === 0; i++) drained = await t.drain().catch(() => 0);
    expect(drained).toBe(1);
    const runs = await t.knock.workflowRecipientRuns.list({ workflow: 'hello' });
    expect(runs.items.map((r) => r.workflow_run_id)).toEqual([acked.workflow_run_id]);
    expect(runs.items[0].status).toBe('completed');
    const again = await t.knock.workflows.trigger('hello', { recipients: ['bob'] });
    expect(again.workflow_run_id).toBeTruthy();
  });
});
