import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../domain/clock.js';
import type { Db } from '../store/db.js';
import { fireDueDelays, nextDelayDue } from '../store/timers.js';
import { flushDueBatches, nextBatchCloses } from '../store/batches.js';

export interface TimerLoopOptions {
  db: Db;
  clock: Clock;
  logger: FastifyBaseLogger;
  /** Called after timers fired: runs are queued or woken and the claim loops should take them. */
  onFired: () => void;
  /** Delays fired, and batches flushed, per statement. */
  batchSize?: number;
  /**
   * Longest sleep between looks at the next due delay. A delay committed by another process (or
   * created paused by a trigger) that ends sooner than this may be this much late; delays are
   * normally seconds or more, so they are seen long before they end.
   */
  maxSleepMs?: number;
}

/**
 * Fires timers on time, apart from the run queue: a loop sleeps until the next delay ends or the
 * next batch window closes, then one statement queues every due delay's run, stamping when it
 * fired (store/timers.ts), and one flushes every due batch (store/batches.ts). Timers
 * therefore never wait for the claim loops to work through a backlog, and the runs they release,
 * keeping wake_at = when their timer was due, are claimed before work that came after.
 */
export class TimerLoop {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private readonly batchSize: number;
  private readonly maxSleepMs: number;

  constructor(private readonly opts: TimerLoopOptions) {
    this.batchSize = opts.batchSize ?? 1000;
    this.maxSleepMs = opts.maxSleepMs ?? 100;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = null;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let sleepMs = this.maxSleepMs;
      try {
        const now = this.opts.clock.now();
        const fired = await fireDueDelays(this.opts.db, now, this.batchSize);
        const { flushed, woken } = await flushDueBatches(this.opts.db, now, this.batchSize);
        if (fired > 0 || woken > 0) this.opts.onFired();
        if (fired === this.batchSize || flushed === this.batchSize) continue;
        const [delay, batch] = await Promise.all([nextDelayDue(this.opts.db), nextBatchCloses(this.opts.db)]);
        const next = [delay, batch].filter((d): d is Date => d !== null).map((d) => d.getTime());
        if (next.length > 0) sleepMs = Math.max(0, Math.min(this.maxSleepMs, Math.min(...next) - this.opts.clock.now().getTime()));
      } catch (err) {
        this.opts.logger.warn({ err }, 'firing timers failed (database unavailable?); retrying');
        sleepMs = 1000;
      }
      if (this.running) await this.sleep(sleepMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); this.wake = null; resolve(); };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
