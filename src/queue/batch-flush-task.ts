import type { Clock } from '../domain/clock.js';
import type { Db } from '../store/db.js';
import { flushNextDueBatch } from '../store/batches.js';
import type { BackgroundTask } from './background-worker.js';

/**
 * Closes batches whose window has ended, one per transaction (the batch row lock makes the
 * flush exactly-once across processes), and wakes their member runs.
 */
export function createBatchFlushTask(opts: { db: Db; clock: Clock; wakeWorkers: () => void }): BackgroundTask {
  return {
    name: 'batch-flush',
    async tick() {
      const flushed = await opts.db.transaction((tx) => flushNextDueBatch(tx, opts.clock.now()));
      if (!flushed) return 0;
      opts.wakeWorkers();
      return 1;
    },
  };
}
