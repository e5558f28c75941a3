import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ManualClock } from '../../src/domain/clock.js';
import type { Engine } from '../../src/engine/engine.js';
import { createScheduleTask } from '../../src/queue/schedule-task.js';
import type { Db } from '../../src/store/db.js';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';
import { openSharedDb, startHeraldOn, type RunningHerald, type SharedDb } from '../support/two-heralds.js';

const digest = {
  key: 'digest',
  name: 'Digest',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'digest for {{ recipient.id }}' } }],
};

const logger = pino({ level: 'silent' });

/** Scheduled runs per schedule id, straight from the runs table. */
async function runsPerSchedule(db: Db): Promise<Map<string, number>> {
  const rows = await db.query<{ id: string; n: number }>(
    `SELECT source->>'schedule_id' AS id, count(*)::int AS n FROM recipient_runs WHERE source->>'type' = 'schedule' GROUP BY 1`,
  );
  return new Map(rows.map((r) => [r.id, r.n]));
}

describe.each(engines)('schedules fire exactly once (%s)', (engine) => {
  describe('with two Herald instances on one database', () => {
    let shared: SharedDb;
    let heralds: RunningHerald[] = [];
    afterEach(async () => {
      for (const h of heralds) await h.close();
      heralds = [];
      await shared.close();
    });

    it('ticking concurrently, they start exactly one run per occurrence', async () => {
      const clock = new ManualClock('2026-03-02T12:00:00Z');
      shared = await openSharedDb(engine);
      heralds = [await startHeraldOn(shared.dbs[0], { clock, workflows: [digest] }), await startHeraldOn(shared.dbs[1], { clock, workflows: [digest] })];
      const [a, b] = heralds;
      // More than one claim batch (50), so both instances have schedules to fight over.
      const users = Array.from({ length: 110 }, (_, i) => `u${i}`);
      const ids: string[] = [];
      for (let i = 0; i < users.length; i += 100) {
        const created = await a.knock.schedules.create({ workflow: 'digest', recipients: users.slice(i, i + 100), repeats: [{ frequency: 'daily', hours: 13 }] });
        ids.push(...created.map((s) => s.id));
      }

      for (const [day, expected] of [['2026-03-02T13:00:00Z', 1], ['2026-03-03T13:00:00Z', 2]] as const) {
        clock.set(day);
        // Both instances' background workers and run workers, at the same time.
        const [handledA, handledB] = await Promise.all([a.drain(), b.drain()]);
        expect(handledA + handledB).toBeGreaterThan(0);
        const counts = await runsPerSchedule(shared.dbs[0]);
        expect(counts.size).toBe(ids.length);
        expect(ids.every((id) => counts.get(id) === expected)).toBe(true);
      }
    }, 120_000);
  });

  describe('on one instance', () => {
    let t: TestHerald;
    afterEach(async () => { await t.close(); });

    const setup = async () => {
      t = await startTestHerald(engine, { workflows: [digest] });
      t.clock.set('2026-03-02T12:00:00Z');
      const [s] = await t.knock.schedules.create({ workflow: 'digest', recipients: ['ada'], repeats: [{ frequency: 'daily', hours: 13 }] });
      t.clock.set('2026-03-02T13:00:00Z');
      return s.id;
    };
    const task = (eng: Pick<Engine, 'trigger'>) => createScheduleTask({ db: t.db, clock: t.clock, engine: eng, logger });

    it('a worker that dies between the trigger and the advance is replaced after its claim lapses, and its trigger is replayed, not repeated', async () => {
      const id = await setup();
      const dying = task({
        async trigger(...args) {
          await t.herald.engine.trigger(...args);
          throw new Error('worker killed after its trigger committed');
        },
      });
      expect(await dying.tick()).toBe(1);
      // Within the claim nobody else fires it or moves it on.
      await t.drain();
      expect(await runsPerSchedule(t.db)).toEqual(new Map([[id, 1]]));
      expect((await t.knock.users.listSchedules('ada')).entries[0].last_occurrence_at).toBeNull();
      t.clock.advance(61_000);
      await t.drain();
      expect(await runsPerSchedule(t.db)).toEqual(new Map([[id, 1]]));
      expect((await t.knock.users.listSchedules('ada')).entries[0]).toMatchObject({
        last_occurrence_at: '2026-03-02T13:00:00.000Z', next_occurrence_at: '2026-03-03T13:00:00.000Z',
      });
    });

    it('a slow worker whose claim lapsed mid-fire and the worker that took over both trigger the occurrence: one run', async () => {
      const id = await setup();
      const successor = task(t.herald.engine);
      let successorHandled = -1;
      const slow = task({
        async trigger(...args) {
          t.clock.advance(61_000); // the claim has lapsed...
          successorHandled = await successor.tick(); // ...so another worker claims and fires the same occurrence
          return t.herald.engine.trigger(...args);
        },
      });
      expect(await slow.tick()).toBe(1);
      expect(successorHandled).toBe(1);
      expect(await runsPerSchedule(t.db)).toEqual(new Map([[id, 1]]));
      expect((await t.knock.users.listSchedules('ada')).entries[0].next_occurrence_at).toBe('2026-03-03T13:00:00.000Z');
    });
  });
});
