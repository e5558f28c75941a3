import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../store/db.js';
import { RUNS_CHANNEL } from './wake.js';
import { settlesWithin } from './settles-within.js';

/**
 * One kind of durable background work kept in the database (object fan-out pages, bulk
 * operations, due schedules). `tick` claims a slice with FOR UPDATE SKIP LOCKED, does it and
 * commits, and returns how many items it handled (0 = nothing due now), so any number of
 * processes can run the same tasks without doing an item twice.
 */
export interface BackgroundTask {
  name: string;
  tick(): Promise<number>;
}

export interface BackgroundWorkerOptions {
  db: Db;
  logger: FastifyBaseLogger;
  tasks: BackgroundTask[];
  /**
   * Names of tasks that run in a loop of their own rather than in turn with the others (the
   * fan-out on PostgreSQL: its long passes keep pages pipelined, and the batch flushes and
   * deliveries do not wait behind them). Only where statements run concurrently: on PGlite's one
   * connection a second loop would only queue behind the first.
   */
  ownLoops?: readonly string[];
  pollIntervalMs?: number;
}

/**
 * Runs every background task in turn until none has work, then sleeps until the poll interval
 * passes or a NOTIFY on the runs channel arrives (the same wake-up the run worker uses, so one
 * `wakeWorkers()` after a commit reaches both). Tasks named in `ownLoops` each run the same way
 * in a loop of their own, beside the others.
 */
export class BackgroundWorker {
  private running = false;
  private loop: Promise<void> | null = null;
  /** The wake-up of each loop that sleeps now. */
  private readonly wakes = new Set<() => void>();
  private unlisten: (() => Promise<void>) | null = null;
  private readonly pollIntervalMs: number;

  constructor(private readonly opts: BackgroundWorkerOptions) {
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
  }

  /** One pass over every task; returns the items handled in all of them. */
  tick(): Promise<number> {
    return this.pass(this.opts.tasks);
  }

  private async pass(tasks: BackgroundTask[]): Promise<number> {
    let total = 0;
    for (const task of tasks) {
      try {
        total += await task.tick();
      } catch (err) {
        // The item stays claimed only until its lease ends or its transaction rolled back.
        this.opts.logger.warn({ err, task: task.name }, 'background task failed; it will be retried');
      }
    }
    return total;
  }

  /** Runs passes until nothing is due at the current clock time (tests use this). */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.tick();
      total += n;
      if (n === 0) return total;
    }
  }

  start(): void {
    if (this.running || this.opts.tasks.length === 0) return;
    this.running = true;
    this.opts.db.listen(RUNS_CHANNEL, () => this.wakeAll())
      .then((unlisten) => { this.unlisten = unlisten; })
      .catch((err) => this.opts.logger.warn({ err }, 'LISTEN failed; background tasks rely on polling'));
    const own = new Set(this.opts.ownLoops ?? []);
    const shared = this.opts.tasks.filter((t) => !own.has(t.name));
    const loops = [shared, ...this.opts.tasks.filter((t) => own.has(t.name)).map((t) => [t])].filter((l) => l.length > 0);
    this.loop = Promise.all(loops.map((tasks) => this.run(tasks))).then(() => {});
  }

  /**
   * Stops after the current pass, waiting for it at most `timeoutMs`: what a pass still holds
   * then keeps its lease (a delivery already handed to a provider must not be sent twice by a
   * second process while this one may still record it).
   */
  async stop(timeoutMs = Infinity): Promise<void> {
    this.running = false;
    this.wakeAll();
    await settlesWithin(this.loop ?? Promise.resolve(), timeoutMs);
    this.loop = null;
    await this.unlisten?.().catch(() => {});
    this.unlisten = null;
  }

  private wakeAll(): void {
    for (const wake of [...this.wakes]) wake();
  }

  private async run(tasks: BackgroundTask[]): Promise<void> {
    while (this.running) {
      const n = await this.pass(tasks);
      if (n > 0 || !this.running) continue;
      await new Promise<void>((resolve) => {
        const wake = () => { clearTimeout(timer); this.wakes.delete(wake); resolve(); };
        const timer = setTimeout(wake, this.pollIntervalMs);
        this.wakes.add(wake);
      });
    }
  }
}
