import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../domain/clock.js';
import type { Db } from '../store/db.js';
import { earliestTimers, fireDueDelays } from '../store/timers.js';
import { flushDueBatches } from '../store/batches.js';

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
  /** Turns that may run at once (default: 2 on PostgreSQL, 1 on PGlite). */
  turnsInFlight?: number;
}

/** How long the loop backs off after a turn failed (the database unavailable, say). */
const FAILED_TURN_RETRY_MS = 1000;

/** Due times the loop remembers (each turn reports two per kind of timer). */
const UPCOMING_KEPT = 8;

interface TurnResult {
  /** More timers were due than one statement takes: the next turn goes at once. */
  full: boolean;
  /** Due times after the turn's own `now`, as the turn's statements reported them. */
  upcoming: number[];
}

/**
 * Fires timers on time, apart from the run queue. A turn is two statements run at once: one
 * queues every due delay's run, stamping when it fired (store/timers.ts), one flushes every due
 * batch (store/batches.ts); each also says when its next two timers are due. Between turns the
 * loop sleeps until the next due time it knows of, and at most `maxSleepMs` (new timers of other
 * processes and of triggers are seen by the next turn; such a poll looks for the earliest timers
 * first and fires only when one is due). Timers therefore never wait for the
 * claim loops to work through a backlog, and the runs they release, keeping wake_at = when their
 * timer was due, are claimed before work that came after.
 *
 * Turns overlap: when a timer comes due while the turn before is still running, a new turn
 * starts at once (up to `turnsInFlight`) instead of waiting for it. Under a busy worker a firing
 * of 1,000 runs took 40–180 ms on PostgreSQL, longer than the ~100 ms between the groups of the
 * timers bench, and each group's firing started only when the one before had ended (issue 12,
 * timers). Overlapping turns never fire a timer twice: each turn locks what it fires (SKIP
 * LOCKED), as firings of several processes already do.
 */
export class TimerLoop {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private readonly batchSize: number;
  private readonly maxSleepMs: number;
  private readonly turnsInFlight: number;
  private readonly inFlight = new Set<Promise<void>>();
  /** Timers due at or before this (ms) are being fired by a turn started then, or were. */
  private coveredUntil = -Infinity;
  /**
   * When the next turn goes whatever is known to be due (the poll for timers of others), in
   * real time (performance.now): the clock may be a test's, standing still.
   */
  private pollAt = -Infinity;
  /** Due times (ms) reported by turns; those at or before coveredUntil are spent. */
  private upcoming: number[] = [];
  /** A turn came back full: more timers are due at once. */
  private again = false;

  constructor(private readonly opts: TimerLoopOptions) {
    this.batchSize = opts.batchSize ?? 1000;
    this.maxSleepMs = opts.maxSleepMs ?? 100;
    // PGlite runs one statement at a time: a second turn would only queue behind the first.
    this.turnsInFlight = opts.turnsInFlight ?? (opts.db.engine === 'pglite' ? 1 : 2);
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
      const now = this.opts.clock.now().getTime();
      if (this.inFlight.size < this.turnsInFlight) {
        // A turn goes when a timer is known to be due, or for the poll; a turn started by the
        // poll alone looks first, and fires only if something turns out to be due.
        const known = this.knownDue(now);
        if (known || performance.now() >= this.pollAt) this.startTurn(now, !known);
      }
      await this.sleep(this.sleepMs());
    }
    await Promise.all(this.inFlight);
  }

  /** A timer is known to be due: a turn came back full, or a reported due time has come. */
  private knownDue(now: number): boolean {
    return this.again || this.uncovered().some((t) => t <= now);
  }

  private startTurn(now: number, poll: boolean): void {
    this.again = false;
    this.coveredUntil = now;
    this.pollAt = performance.now() + this.maxSleepMs;
    const turn = this.turn(new Date(now), poll).then(
      (result) => {
        // Due timers this turn left were locked by another turn still in flight, which fires
        // them (and says so itself if it too was full), unless this turn is the last one.
        if (result.full && this.inFlight.size === 1) this.again = true;
        this.upcoming = [...new Set([...this.uncovered(), ...result.upcoming])].sort((a, b) => a - b).slice(0, UPCOMING_KEPT);
      },
      (err) => {
        this.opts.logger.warn({ err }, 'firing timers failed (database unavailable?); retrying');
        this.upcoming = [];
        this.again = false;
        this.pollAt = performance.now() + FAILED_TURN_RETRY_MS;
      },
    ).finally(() => {
      this.inFlight.delete(turn);
      this.wake?.();
    });
    this.inFlight.add(turn);
  }

  /**
   * One turn: due delays fired and due batches flushed, at once (two connections on PostgreSQL).
   * A poll turn first reads the earliest timer of each kind (store/timers.ts `earliestTimers`)
   * and stops there when neither is due: most polls find nothing, and the firing and the flush
   * cost several times that look, on PGlite's one thread shared with the API and the worker.
   */
  private async turn(now: Date, poll: boolean): Promise<TurnResult> {
    if (poll) {
      const { delay, batch } = await earliestTimers(this.opts.db);
      const earliest = [delay, batch].filter((d): d is Date => d !== null).map((d) => d.getTime());
      if (!earliest.some((t) => t <= now.getTime())) return { full: false, upcoming: earliest };
    }
    const [delays, batches] = await Promise.all([
      fireDueDelays(this.opts.db, now, this.batchSize),
      flushDueBatches(this.opts.db, now, this.batchSize),
    ]);
    if (delays.fired > 0 || batches.woken > 0) this.opts.onFired();
    const upcoming = [delays.next, delays.after, batches.next, batches.after].filter((d): d is Date => d !== null).map((d) => d.getTime());
    return { full: delays.more || batches.more, upcoming };
  }

  /** Due times reported by turns that no turn has started to fire yet. */
  private uncovered(): number[] {
    return this.upcoming.filter((t) => t > this.coveredUntil);
  }

  /**
   * Until the next turn should start: the next due time no turn has covered yet, or the poll,
   * whichever comes first; with every turn slot taken, until one ends (it wakes the loop).
   */
  private sleepMs(): number {
    if (this.inFlight.size >= this.turnsInFlight) return this.maxSleepMs;
    if (this.again) return 0;
    const now = this.opts.clock.now().getTime();
    const untilDue = Math.min(...this.uncovered().map((t) => t - now));
    return Math.max(0, Math.min(this.maxSleepMs, this.pollAt - performance.now(), untilDue));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); this.wake = null; resolve(); };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
