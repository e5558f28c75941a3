/**
 * The run waker (src/queue/wake.ts) tells workers in every process that runs became due, with a
 * NOTIFY on the database. A stream of calls (one per trigger group) sends few NOTIFYs, and the
 * last call of a stream is never lost: a NOTIFY follows it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { createRunWaker, RUNS_CHANNEL } from '../../src/queue/wake.js';
import { engines, openTestDb } from '../support/harness.js';
import { until } from '../support/until.js';

const INTERVAL_MS = 20;

describe.each(engines)('run waker (%s)', (engine) => {
  let db: Db;
  let received: number[];
  let unlisten: () => Promise<void>;
  const errors: unknown[] = [];
  beforeEach(async () => {
    db = await openTestDb(engine);
    received = [];
    errors.length = 0;
    unlisten = await db.listen(RUNS_CHANNEL, () => { received.push(performance.now()); });
  });
  afterEach(async () => { await unlisten(); await db.close(); });

  it('wakes at once when idle, sends at most one NOTIFY per interval during a stream of calls, and one after its last call', async () => {
    const wake = createRunWaker(db, (err) => errors.push(err), INTERVAL_MS);
    wake();
    expect(await until(() => received.length === 1)).toBe(true);
    await new Promise((r) => setTimeout(r, INTERVAL_MS * 2));

    // A stream: a call every millisecond or so for ~200 ms, as trigger groups under load.
    received = [];
    const started = performance.now();
    let lastCall = started;
    while (performance.now() - started < 200) {
      wake();
      lastCall = performance.now();
      await new Promise((r) => setTimeout(r, 1));
    }
    // The last call is followed by a NOTIFY sent after it.
    expect(await until(() => received.some((t) => t > lastCall))).toBe(true);
    await new Promise((r) => setTimeout(r, INTERVAL_MS * 3));
    const span = received[received.length - 1] - started;
    // One per interval at most (plus the first, sent at once), far fewer than the calls.
    expect(received.length).toBeLessThanOrEqual(Math.floor(span / INTERVAL_MS) + 2);
    expect(received.length).toBeGreaterThanOrEqual(2);
    expect(errors).toEqual([]);
  });
});
