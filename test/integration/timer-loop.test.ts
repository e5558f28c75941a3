import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { TimerLoop } from '../../src/queue/timer-loop.js';
import { fireDueDelays } from '../../src/store/timers.js';
import { flushDueBatches } from '../../src/store/batches.js';
import type { Db } from '../../src/store/db.js';
import { wrapQuery } from '../support/counting-db.js';
import { until } from '../support/until.js';

const MIN = 60_000;
const reminder = {
  key: 'reminder',
  name: 'Reminder',
  steps: [
    { ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'minutes', value: 10 } } },
    { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Reminder for {{ recipient.id }}' } },
  ],
};
const digest = {
  key: 'digest',
  name: 'Digest',
  steps: [
    { ref: 'collect', type: 'batch', settings: { batch_window: { unit: 'minutes', value: 10 } } },
    { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: '{{ total_activities }} for {{ recipient.id }}' } },
  ],
};

/**
 * The same database, except that the first delay firing waits (before it reaches the database)
 * until `release` is called: a firing that runs long, as one of 1,000 runs does under a busy
 * worker.
 */
function holdingFirstFiring(db: Db): { db: Db; held: Promise<void>; release: () => void } {
  let release!: () => void;
  let signalHeld!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const held = new Promise<void>((r) => { signalHeld = r; });
  let first = true;
  const holding = wrapQuery(db, async (sql, params, opts, query) => {
    if (first && sql.includes('fired AS')) {
      first = false;
      signalHeld();
      await gate;
    }
    return query(sql, params, opts);
  });
  return { db: holding, held, release };
}

async function statusOf(t: TestHerald, user: string): Promise<string> {
  const [row] = await t.db.query<{ status: string }>(`SELECT status FROM recipient_runs WHERE recipient_id = $1`, [user]);
  return row.status;
}

describe.each(engines)('the timer loop (%s)', (engine) => {
  let t: TestHerald;
  let loop: TimerLoop | null = null;
  const logger = pino({ level: 'silent' }) as unknown as FastifyBaseLogger;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows: [reminder, digest] }); });
  afterEach(async () => { await loop?.stop(); loop = null; await t.close(); });

  it(engine === 'postgres'
    ? 'fires a delay on time while the firing before it is still running, and fires each run once'
    : 'runs one firing at a time on the embedded database (one connection), and fires each run once', async () => {
    await t.knock.workflows.trigger('reminder', { recipients: ['ada'] });
    t.clock.advance(1000);
    await t.knock.workflows.trigger('reminder', { recipients: ['bob'] });
    const { db, held, release } = holdingFirstFiring(t.db);
    loop = new TimerLoop({ db, clock: t.clock, logger, onFired: () => {}, maxSleepMs: 20 });
    t.clock.advance(10 * MIN - 1000); // ada's delay ends
    loop.start();
    await held;
    t.clock.advance(1000); // bob's delay ends while ada's firing is held up
    try {
      if (engine === 'postgres') {
        // A second turn starts without waiting for the first, and takes every delay now due.
        expect(await until(async () => (await statusOf(t, 'bob')) === 'queued')).toBe(true);
        expect(await statusOf(t, 'ada')).toBe('queued');
      } else {
        await new Promise((r) => setTimeout(r, 300));
        expect(await statusOf(t, 'bob')).toBe('paused');
      }
    } finally {
      release();
    }
    expect(await until(async () => (await statusOf(t, 'ada')) === 'queued' && (await statusOf(t, 'bob')) === 'queued')).toBe(true);
    await loop.stop();
    loop = null;
    await t.drain();
    for (const user of ['ada', 'bob']) {
      expect((await t.knock.users.listMessages(user)).items).toHaveLength(1);
      const list = await http(t, 'GET', `/v1/workflow_recipient_runs?recipient=${user}`);
      const run = (await http(t, 'GET', `/v1/workflow_recipient_runs/${list.body.items[0].id}`)).body;
      expect(run.events.filter((e: any) => e.event === 'step_completed' && e.step_ref === 'wait')).toHaveLength(1);
    }
  });

  it('a firing or a flush that takes its limit says whether more were due, so a group of exactly the limit costs no second turn', async () => {
    for (const user of ['ada', 'bob', 'cy']) {
      await t.knock.workflows.trigger('reminder', { recipients: [user] });
      await t.knock.workflows.trigger('digest', { recipients: [user] });
    }
    await t.drain();
    t.clock.advance(10 * MIN);
    const now = t.clock.now();
    // Three of each are due: a limit of 2 leaves one, a limit of 1 then takes the last one.
    expect(await fireDueDelays(t.db, now, 2)).toMatchObject({ fired: 2, more: true });
    expect(await fireDueDelays(t.db, now, 1)).toMatchObject({ fired: 1, more: false });
    expect(await flushDueBatches(t.db, now, 2)).toMatchObject({ flushed: 2, more: true });
    expect(await flushDueBatches(t.db, now, 1)).toMatchObject({ flushed: 1, more: false });
    expect(await fireDueDelays(t.db, now, 1)).toMatchObject({ fired: 0, more: false });
    expect(await flushDueBatches(t.db, now, 1)).toMatchObject({ flushed: 0, more: false });
    await t.drain();
    for (const user of ['ada', 'bob', 'cy']) expect((await t.knock.users.listMessages(user)).items).toHaveLength(2);
  });

  it('an idle poll only looks for the earliest timers, and fires once a delay it finds is due', async () => {
    await t.knock.workflows.trigger('reminder', { recipients: ['ada'] });
    await t.drain();
    const statements: string[] = [];
    const db = wrapQuery(t.db, (sql, params, opts, query) => {
      statements.push(sql.includes('fired AS') ? 'fire' : sql.includes('WITH due AS MATERIALIZED') ? 'flush' : 'look');
      return query(sql, params, opts);
    });
    loop = new TimerLoop({ db, clock: t.clock, logger, onFired: () => {}, maxSleepMs: 10 });
    loop.start();
    // Polls every 10 ms while ada's delay is ten minutes away (the test's clock stands still).
    expect(await until(async () => statements.length >= 5)).toBe(true);
    expect(new Set(statements)).toEqual(new Set(['look']));
    t.clock.advance(10 * MIN);
    expect(await until(async () => (await statusOf(t, 'ada')) === 'queued')).toBe(true);
    expect(statements).toContain('fire');
    expect(statements).toContain('flush');
  });
});
