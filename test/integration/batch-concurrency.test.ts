import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { RunWorker } from '../../src/queue/run-worker.js';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';

const digest = {
  key: 'digest',
  name: 'Digest',
  steps: [
    { ref: 'collect', type: 'batch', settings: { batch_window: { unit: 'minutes', value: 10 }, batch_key: 'thread' } },
    { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: '{{ total_activities }} replies' } },
  ],
};

const thread = {
  key: 'thread',
  name: 'Thread',
  steps: [
    { ref: 'collect', type: 'batch', settings: { batch_window: { unit: 'seconds', value: 3 }, batch_key: 'thread' } },
    { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: '{{ total_activities }} replies in {{ data.thread }}' } },
  ],
};

describe.each(engines)('batch under concurrency (%s)', (engine) => {
  let t: TestHerald;
  afterEach(async () => { await t.close(); });

  it('a run whose window has ended while the flush is busy waits for it, backing off, and is never halted; its batch is delivered', async () => {
    t = await startTestHerald(engine, { workflows: [thread] });
    await t.knock.workflows.trigger('thread', { recipients: ['ada'], data: { thread: 'B' } });
    await t.knock.workflows.trigger('thread', { recipients: ['ada'], data: { thread: 'B' } });
    expect(await t.herald.worker.drain()).toBe(2); // both join the batch and pause until it closes
    // The window (3 s) and the 2 s members sleep past it, leaving the flush time to wake them.
    t.clock.advance(5_000);
    // The flush does not get to run (busy elsewhere) while the run worker keeps waking the
    // runs: each wake is one claim per run, then the run sleeps; it never spins.
    for (let round = 0; round < 12; round++) {
      expect(await t.herald.worker.drain()).toBe(2);
      t.clock.advance(20_000);
    }
    const runs = await t.db.query<{ status: string }>('SELECT status FROM recipient_runs');
    expect(runs).toEqual([{ status: 'paused' }, { status: 'paused' }]);
    const halted = await t.db.query('SELECT data FROM run_event_list WHERE event = \'run_halted\'');
    expect(halted).toEqual([]);
    // The flush gets its turn at last: one message carries both activities.
    await t.drain();
    expect(await t.db.query('SELECT total_activities FROM messages')).toEqual([{ total_activities: 2 }]);
  });

  it('1,000 concurrent triggers at one batch key, advanced by three workers at once: one batch, one flush, 1,000 activities', async () => {
    t = await startTestHerald(engine, { workflows: [digest] });
    const N = 1000;
    let next = 0;
    // 50 requests in flight at a time, over the API's connection pool.
    await Promise.all(Array.from({ length: 50 }, async () => {
      while (next < N) {
        const i = next++;
        await t.knock.workflows.trigger('digest', { recipients: ['ada'], data: { thread: 't1', i } });
      }
    }));
    const logger = pino({ level: 'silent' });
    const engineApi = (t.herald.worker as unknown as { opts: { engine: ConstructorParameters<typeof RunWorker>[0]['engine'] } }).opts.engine;
    const workers = Array.from({ length: 3 }, (_, i) => new RunWorker({ db: t.db, clock: t.clock, logger, engine: engineApi, workerId: `w${i}`, batchSize: 25 }));
    await Promise.all(workers.map((w) => w.drain()));
    await t.drain();
    const batches = await t.db.query<{ status: string; items: number }>('SELECT status, items FROM batches');
    expect(batches).toEqual([{ status: 'open', items: N }]);
    t.clock.advance(10 * 60_000);
    // Two flush passes racing: the batch row lock lets exactly one flush it.
    await Promise.all([t.herald.background.tick(), t.herald.background.tick()]);
    await Promise.all(workers.map((w) => w.drain()));
    await t.drain();
    const messages = (await t.knock.users.listMessages('ada')).items;
    expect(messages).toHaveLength(1);
    const [{ total_activities: total, batch_id: batchId }] = await t.db.query<{ total_activities: number; batch_id: string }>('SELECT total_activities, batch_id FROM messages');
    expect(total).toBe(N);
    const [{ n }] = await t.db.query<{ n: number }>('SELECT count(DISTINCT recipient_run_id)::int AS n FROM batch_members WHERE batch_id = $1 AND included', [batchId]);
    expect(n).toBe(N);
    const runs = await t.db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM recipient_runs GROUP BY status');
    expect(runs).toEqual([{ status: 'completed', n: N }]);
  }, 300_000);
});
