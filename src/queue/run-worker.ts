import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../domain/clock.js';
import type { Db } from '../store/db.js';
import type { RunRow } from '../domain/run.js';
import { claimDueRuns, extendClaims, nextWakeAt, releaseClaims } from '../store/runs.js';
import { analyzeGrownTables } from '../store/table-stats.js';
import { fireDueDelays } from '../store/timers.js';
import { TimerLoop } from './timer-loop.js';
import { settlesWithin } from './settles-within.js';
import { RUNS_CHANNEL } from './wake.js';

export interface RunWorkerOptions {
  db: Db;
  clock: Clock;
  logger: FastifyBaseLogger;
  engine: { advanceBatch(runs: RunRow[], leaseOwner: string): Promise<string[]> };
  pollIntervalMs?: number;
  workerId?: string;
  /** Runs claimed per round trip; claiming in batches is what makes the queue fast. */
  batchSize?: number;
  /** At most this many checkpoint statements of one claim in flight at once. */
  concurrency?: number;
  /** How long a claim lasts before another worker may take the run over. */
  leaseMs?: number;
  /**
   * Claims this process works on at once while it runs (`start`). While one batch waits for
   * the database or the render processes, the next is already being claimed and planned, so
   * throughput is not bounded by one batch's round trips. SKIP LOCKED keeps them disjoint.
   */
  claimsInFlight?: number;
  /** Called after a stop gave claimed runs back, so other processes take them at once (NOTIFY). */
  onReleased?: () => void;
}

/** Delays `drain` fires before each claim (it runs without the timer loop). */
const DRAIN_DELAYS_PER_ROUND = 10_000;

/** How often a running worker checks whether tables grew enough to need fresh statistics. */
const ANALYZE_CHECK_INTERVAL_MS = 10_000;


/**
 * Claims due runs from PostgreSQL (FOR UPDATE SKIP LOCKED) and advances them. Any number of
 * workers in any number of processes can run against one database: claims never overlap, and a
 * crashed worker's runs become due again when their lease expires.
 */
export class RunWorker {
  readonly id: string;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly pollIntervalMs: number;
  private readonly claimsInFlight: number;
  private running = false;
  private loop: Promise<void> | null = null;
  /** Every sleeping claim loop's wake-up. */
  private readonly wakers = new Set<() => void>();
  private nextAnalyzeAt = 0;
  private unlisten: (() => Promise<void>) | null = null;
  /** The runs each claim in flight holds, by its owner token, for `stop` to give back. */
  private readonly held = new Map<string, string[]>();
  /** Fires delays and flushes batches on time while the worker runs (`start`). */
  private readonly timers: TimerLoop;

  constructor(private readonly opts: RunWorkerOptions) {
    this.id = opts.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    // PGlite runs one statement at a time on the API's thread: smaller claims, one in flight, so
    // an API request never waits behind more than one short checkpoint (pglite-priority.ts).
    const embedded = opts.db.engine === 'pglite';
    this.batchSize = opts.batchSize ?? (embedded ? 50 : 100);
    // One checkpoint per claim and four claims in flight: on two cores, 3 claims × 4 lanes (12
    // checkpoint statements at once) made 2,557 runs/s; 1 × 4 made 3,335–3,738 (worker bench,
    // quiet machine): fewer concurrent statements wait less on each other's locks and WAL flushes.
    this.concurrency = opts.concurrency ?? 1;
    this.claimsInFlight = opts.claimsInFlight ?? (embedded ? 1 : 4);
    this.leaseMs = opts.leaseMs ?? 20_000;
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
    this.timers = new TimerLoop({ db: opts.db, clock: opts.clock, logger: opts.logger, onFired: () => this.wakeAll() });
  }

  private wakeAll(): void {
    for (const wake of [...this.wakers]) wake();
  }

  /**
   * Claims and advances one batch; returns how many runs it claimed.
   *
   * A run claimed before without that claim finishing (attempts > 1) may be a poison run that
   * takes its process down. Such suspects are advanced one per claim, alone, after the rest of
   * the batch has committed, so that a crash they cause counts against them only and never
   * against the healthy runs claimed beside them; further suspects are given back uncounted.
   */
  async tick(): Promise<number> {
    const now = this.opts.clock.now();
    // Each claim gets its own owner token, so a stale claim of ours can never checkpoint.
    const owner = `${this.id}/${randomUUID().slice(0, 8)}`;
    const claimed = await claimDueRuns(this.opts.db, owner, now, new Date(now.getTime() + this.leaseMs), this.batchSize);
    if (claimed.length === 0) return 0;
    const suspects = claimed.filter((r) => r.attempts > 1);
    await releaseClaims(this.opts.db, owner, suspects.slice(1).map((r) => r.id), now);
    const runs = claimed.filter((r) => r.attempts <= 1);
    const held = suspects.length > 0 ? [...runs, suspects[0]] : runs;
    // A short lease recovers a dead worker's runs quickly; while this one is alive and busy,
    // a heartbeat keeps extending it so a slow batch is never taken over mid-way.
    const heartbeat = setInterval(() => {
      extendClaims(this.opts.db, owner, held.map((r) => r.id), new Date(this.opts.clock.now().getTime() + this.leaseMs))
        .catch((err) => this.opts.logger.warn({ err }, 'extending run leases failed'));
    }, Math.max(1000, Math.floor(this.leaseMs / 3)));
    heartbeat.unref();
    this.held.set(owner, held.map((r) => r.id));
    try {
      await this.advanceInLanes(runs, owner);
      if (suspects.length > 0) await this.advanceInLanes([suspects[0]], owner);
    } finally {
      clearInterval(heartbeat);
      this.held.delete(owner);
    }
    return claimed.length;
  }

  /**
   * Runs are planned in parallel lanes of up to `concurrency` runs each, and every lane commits
   * its runs in one checkpoint statement.
   */
  private async advanceInLanes(runs: RunRow[], owner: string): Promise<void> {
    const lanes = Math.max(1, Math.min(this.concurrency, Math.ceil(runs.length / 25)));
    const size = Math.ceil(runs.length / lanes);
    await Promise.all(Array.from({ length: lanes }, async (_, i) => {
      const lane = runs.slice(i * size, (i + 1) * size);
      if (lane.length === 0) return;
      try {
        await this.opts.engine.advanceBatch(lane, owner);
      } catch (err) {
        // The leases expire and another claim retries these runs; nothing is lost.
        this.opts.logger.error({ err, runs: lane.length }, 'advancing runs failed; they will be retried after their lease');
      }
    }));
  }

  /** Processes until nothing is due at the current clock time (tests and the CLI use this). */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      await fireDueDelays(this.opts.db, this.opts.clock.now(), DRAIN_DELAYS_PER_ROUND);
      const n = await this.tick();
      total += n;
      if (n === 0) return total;
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.opts.db.listen(RUNS_CHANNEL, () => this.wakeAll())
      .then((unlisten) => { this.unlisten = unlisten; })
      .catch((err) => this.opts.logger.warn({ err }, 'LISTEN failed; relying on polling'));
    this.loop = Promise.all(Array.from({ length: this.claimsInFlight }, () => this.run())).then(() => {});
    this.timers.start();
  }

  /**
   * Stops claiming and waits up to `timeoutMs` for the claims in flight to finish. Runs still held
   * then are given back, due at once and uncounted (another process takes them without waiting
   * for their lease); a checkpoint of theirs that lands later fails on the owner token, so a run
   * is never advanced twice. Returns how many runs were given back.
   */
  async stop(timeoutMs = Infinity): Promise<number> {
    this.running = false;
    this.wakeAll();
    const loops = Promise.all([this.loop, this.timers.stop()]);
    let released = 0;
    if (!(await settlesWithin(loops, timeoutMs))) released = await this.releaseHeld();
    this.loop = null;
    await this.unlisten?.().catch(() => {});
    this.unlisten = null;
    return released;
  }

  private async releaseHeld(): Promise<number> {
    let released = 0;
    for (const [owner, ids] of [...this.held]) {
      try {
        released += await releaseClaims(this.opts.db, owner, ids, this.opts.clock.now());
      } catch (err) {
        this.opts.logger.warn({ err, runs: ids.length }, 'giving back claimed runs failed; they are retried after their lease');
      }
    }
    if (released > 0) {
      this.opts.logger.info({ runs: released }, 'shutting down: gave back claimed runs that had not finished');
      this.opts.onReleased?.();
    }
    return released;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let claimed = 0;
      try {
        claimed = await this.tick();
        await this.keepStatisticsCurrent();
      } catch (err) {
        this.opts.logger.warn({ err }, 'claiming runs failed (database unavailable?); retrying');
      }
      if (claimed > 0 || !this.running) continue;
      await this.sleep(await this.idleDelay());
    }
  }

  /**
   * Re-analyzes tables that grew (store/table-stats.ts), at most every few seconds: plans cached
   * while the tables were small would otherwise stay, autovacuum or not.
   */
  private async keepStatisticsCurrent(): Promise<void> {
    const now = Date.now();
    if (now < this.nextAnalyzeAt) return;
    this.nextAnalyzeAt = now + ANALYZE_CHECK_INTERVAL_MS;
    const analyzed = await analyzeGrownTables(this.opts.db);
    if (analyzed.length > 0) this.opts.logger.debug({ tables: analyzed }, 'analyzed tables that grew');
  }

  /** Sleep until the next run is due, but never longer than the poll interval. */
  private async idleDelay(): Promise<number> {
    try {
      const next = await nextWakeAt(this.opts.db);
      if (next) return Math.max(5, Math.min(this.pollIntervalMs, next.getTime() - this.opts.clock.now().getTime()));
    } catch {
      // fall back to polling
    }
    return this.pollIntervalMs;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); this.wakers.delete(done); resolve(); };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }
}
