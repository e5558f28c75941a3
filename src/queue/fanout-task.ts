import type { Clock } from '../domain/clock.js';
import type { Db } from '../store/db.js';
import { expandNextFanoutPage } from '../store/fanouts.js';
import type { BackgroundTask } from './background-worker.js';

/**
 * Subscribers per page. Large enough that a 100k-subscriber object takes few statements, small
 * enough that a page holds its fan-out row lock (and keeps a cancel waiting) only briefly.
 */
const PAGE_SIZE = 2000;

/**
 * Expands object recipients to their subscribers, one checkpointed page per transaction: a
 * crash redoes at most the page in flight, and the unique run index drops duplicates.
 */
export function createFanoutTask(opts: { db: Db; clock: Clock; wakeWorkers: () => void; pageSize?: number }): BackgroundTask {
  return {
    name: 'fanout',
    async tick() {
      const result = await opts.db.transaction((tx) => expandNextFanoutPage(tx, opts.pageSize ?? PAGE_SIZE, opts.clock.now()));
      if (result === null) return 0;
      if (result.created > 0) opts.wakeWorkers();
      // A fan-out that was already complete still counts as work done, so the loop checks again.
      return Math.max(1, result.read);
    },
  };
}
