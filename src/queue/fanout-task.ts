import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { FanoutPageOutcome } from '../engine/fanout-page.js';
import type { BackgroundTask } from './background-worker.js';

/**
 * Subscribers per page. Large enough that a 100k-subscriber object takes few statements, small
 * enough that one page's plan (its renders included) and its commit statement stay short, and
 * that the pages in flight fit the young generation: with 64 MB semi-spaces (scripts/node-flags.json)
 * 500 spent 0.8 s in scavenges over a 100k fan-out against 2.0 s for 2,000, and made 7,588 and
 * 7,613 messages/s against 7,105 and 7,157 (214 against 241 µs of machine CPU per message,
 * alternating runs). On PGlite's one connection an API request may wait behind a page's commit,
 * so pages are smaller there (250 expanded as fast as 2,000 in the fan-out bench).
 */
const PAGE_SIZE = 500;
const EMBEDDED_PAGE_SIZE = 250;

/**
 * Pages one tick expands (pipelined: the next is planned while the one before commits). On
 * PostgreSQL the fan-out has a background loop of its own (herald.ts), so a long tick delays no
 * other task. The pipeline drains at each tick's end (a page timeline showed the last of 4
 * pages committing alone for ~50 of ~300 ms), so the ticks are longer there. Measured on the
 * 100k fan-out bench in alternating runs: 16 pages a tick in the shared loop made
 * 7,303/8,307/7,955 messages/s where 4 made 7,353/7,130/5,913; a second A/B, own loop and 16
 * against shared and 4, read 7,071/6,188/6,297 against 6,026/6,808/6,764: within this
 * machine's noise. The own loop is kept for the other tasks: due batch flushes and deliveries
 * no longer wait behind fan-out pages. On PGlite the fan-out takes its turn with the other
 * tasks, so its ticks stay short.
 */
export const FANOUT_PAGES_PER_TICK = 16;
export const EMBEDDED_FANOUT_PAGES_PER_TICK = 4;

/**
 * Expands object recipients to their subscribers, a few pages per tick (engine/fanout-page.ts):
 * each page is a leased row committed in one statement with its runs, so a crash redoes at most
 * the pages in flight, and the unique run index drops duplicates.
 */
export function createFanoutTask(opts: {
  engine: { expandFanoutPages(owner: string, pageSize: number, maxPages: number): Promise<FanoutPageOutcome | null> };
  wakeWorkers: () => void;
  pageSize?: number;
  /** PGlite: smaller pages. */
  embedded?: boolean;
  workerId?: string;
}): BackgroundTask {
  const pageSize = opts.pageSize ?? (opts.embedded ? EMBEDDED_PAGE_SIZE : PAGE_SIZE);
  const pagesPerTick = opts.embedded ? EMBEDDED_FANOUT_PAGES_PER_TICK : FANOUT_PAGES_PER_TICK;
  // The owner of this task's page leases: a commit holds only while its page is still leased to it.
  const owner = `${opts.workerId ?? `${hostname()}:${process.pid}`}:fanout:${randomUUID().slice(0, 8)}`;
  return {
    name: 'fanout',
    async tick() {
      const result = await opts.engine.expandFanoutPages(owner, pageSize, pagesPerTick);
      if (result === null) return 0;
      if (result.queued > 0) opts.wakeWorkers();
      // A page lost to a cancel, or a fan-out already complete, still counts as work done, so the
      // loop looks again at once.
      return Math.max(1, result.read);
    },
  };
}
