import type { Clock } from '../domain/clock.js';
import type { Db } from '../store/db.js';
import { flushDueBatches } from '../store/batches.js';
import type { BackgroundTask } from './background-worker.js';

/** Batches flushed per statement. */
const FLUSH_BATCHES = 500;

/**
 * Closes batches whose window has ended, many per statement (the batch row locks make each
 * flush exactly-once across processes), and wakes the runs that carry them on. While a run
 * worker runs, its timer loop flushes on time (queue/timer-loop.ts); this task is the sweep
 * that `drain` and background passes also run.
 */
export function createBatchFlushTask(opts: { db: Db; clock: Clock; wakeWorkers: () => void }): BackgroundTask {
  return {
    name: 'batch-flush',
    async tick() {
      const { flushed, woken } = await flushDueBatches(opts.db, opts.clock.now(), FLUSH_BATCHES);
      if (woken > 0) opts.wakeWorkers();
      return flushed;
    },
  };
}
