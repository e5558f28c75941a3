/**
 * The bulk operation framework under failure: a worker that dies holding an operation, a chunk
 * whose transaction never commits, items that fail in SQL, and an operation nothing can run.
 * "No item twice" is read from each identified user's updated_at: a chunk stamps its users
 * with the clock time it ran at, so a redone chunk would show the later time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.js';
import { createBulkOperationTask } from '../../src/queue/bulk-operation-task.js';
import { enqueueBulkOperation, getBulkOperation } from '../../src/store/bulk-operations.js';
import { bulkHandlers } from '../../src/store/bulk/index.js';
import { processNextBulkChunk } from '../../src/store/bulk/process.js';
import type { BulkHandler } from '../../src/store/bulk/types.js';
import { upsertEntity } from '../../src/store/entities.js';
import type { Db } from '../../src/store/db.js';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';
import { openSharedDb, startHeraldOn, type RunningHerald, type SharedDb } from '../support/two-heralds.js';

const users = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `u${String(i).padStart(3, '0')}`, name: `User ${i}` }));

/** How many users carry each updated_at: {time: count}. */
async function stamps(db: Db): Promise<Record<string, number>> {
  const rows = await db.query<{ at: Date; n: number }>(
    `SELECT updated_at AS at, count(*)::int AS n FROM entities WHERE collection = '$users' GROUP BY 1 ORDER BY 1`);
  return Object.fromEntries(rows.map((r) => [new Date(r.at).toISOString(), r.n]));
}

describe.each(engines)('bulk operations survive failures (%s)', (engine) => {
  let shared: SharedDb | undefined;
  const heralds: RunningHerald[] = [];
  let t: TestHerald | undefined;
  afterEach(async () => {
    for (const h of heralds.splice(0)) await h.close();
    await shared?.close();
    shared = undefined;
    await t?.close();
    t = undefined;
  });

  it('a second Herald takes over an operation once the first one\'s claim expires, redoing no committed chunk', async () => {
    shared = await openSharedDb(engine);
    const clock = new ManualClock('2026-03-01T12:00:00Z');
    const first = await startHeraldOn(shared.dbs[0], { clock });
    heralds.push(first);
    const second = await startHeraldOn(shared.dbs[1], { clock });
    heralds.push(second);

    const op = await first.knock.users.bulk.identify({ users: users(250) });
    await first.herald.background.tick(); // one chunk of 100 committed, then the first Herald "dies"
    expect(await second.knock.bulkOperations.get(op.id)).toMatchObject({ status: 'processing', processed_rows: 100 });

    clock.advance(10_000);
    await second.drain(); // the first Herald's claim (30 s) still holds
    expect(await second.knock.bulkOperations.get(op.id)).toMatchObject({ status: 'processing', processed_rows: 100 });

    clock.advance(21_000);
    await second.drain();
    expect(await second.knock.bulkOperations.get(op.id)).toMatchObject({
      status: 'completed', processed_rows: 250, success_count: 250, error_count: 0,
      started_at: '2026-03-01T12:00:00.000Z', completed_at: '2026-03-01T12:00:31.000Z',
    });
    expect(await stamps(shared.dbs[0])).toEqual({ '2026-03-01T12:00:00.000Z': 100, '2026-03-01T12:00:31.000Z': 150 });
  }, 90_000); // two Heralds start here: slow on a busy machine, not a timed assertion

  it('a chunk whose transaction dies before committing is redone whole, and only it', async () => {
    t = await startTestHerald(engine);
    const op = await t.knock.users.bulk.identify({ users: users(250) });
    await t.herald.background.tick();
    t.clock.advance(31_000); // past the claim, so another worker may take the operation
    const doomed = t.db.transaction(async (tx) => {
      const now = t!.clock.now();
      const chunk = await processNextBulkChunk(tx, bulkHandlers, { owner: 'doomed', now, leaseUntil: new Date(now.getTime() + 30_000), chunkSize: 100 });
      expect(chunk?.processed).toBe(100);
      throw new Error('killed before commit');
    });
    await expect(doomed).rejects.toThrow('killed before commit');
    expect(await t.knock.bulkOperations.get(op.id)).toMatchObject({ processed_rows: 100 });
    t.clock.advance(1000);
    await t.drain();
    expect(await t.knock.bulkOperations.get(op.id)).toMatchObject({ status: 'completed', processed_rows: 250, success_count: 250 });
    expect(await stamps(t.db)).toEqual({ '2026-03-01T12:00:00.000Z': 100, '2026-03-01T12:00:32.000Z': 150 });
  });

  it('an item failing in SQL is rolled back to its savepoint; the chunk and the other items commit', async () => {
    t = await startTestHerald(engine);
    // A handler registered next to the built-in ones, as a feature adds its own.
    const flaky: BulkHandler<{ id: string; fail: boolean }> = {
      async apply(tx, item, { now }) {
        await upsertEntity(tx, { collection: '$users', id: item.id }, { flaky: true }, now);
        if (item.fail) await tx.query('SELECT 1 / 0');
      },
      describe: (item) => ({ id: item.id }),
    };
    const task = createBulkOperationTask({ db: t.db, clock: t.clock, handlers: { ...bulkHandlers, 'test.flaky': flaky } });
    const op = await enqueueBulkOperation(t.db, {
      id: '00000000-0000-4000-8000-000000000001', name: 'test.flaky', now: t.clock.now(),
      items: [{ id: 'a', fail: false }, { id: 'b', fail: true }, { id: 'c', fail: false }],
    });
    expect(await task.tick()).toBe(3);
    expect(await getBulkOperation(t.db, op.id)).toMatchObject({
      status: 'completed', success_count: 2, error_count: 1, error_items: [{ id: 'b', message: 'division by zero' }],
    });
    expect((await t.knock.users.list()).entries.map((u) => u.id)).toEqual(['a', 'c']);
  });

  it('an operation no handler knows ends failed instead of waiting for ever', async () => {
    t = await startTestHerald(engine);
    const op = await enqueueBulkOperation(t.db, { id: '00000000-0000-4000-8000-000000000002', name: 'nobody.knows', items: [1, 2], now: t.clock.now() });
    await t.drain();
    expect(await t.knock.bulkOperations.get(op.id)).toMatchObject({ status: 'failed', processed_rows: 0, failed_at: '2026-03-01T12:00:00.000Z' });
  });
});
