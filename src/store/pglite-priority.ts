/**
 * Priority on PGlite's single connection. PGlite is one session in this process: the API and
 * the background workers (run worker, delivery, fan-out, schedules, batch flush) take turns on
 * it, and first-come-first-served lets a busy worker keep a trigger waiting behind a queue of
 * checkpoints (issue 12: 20 triggers took 26.8 s to acknowledge while the worker drained a
 * backlog). So work is sorted into two lanes:
 *  - the API lane (the default: anything not marked) goes first;
 *  - the background lane (code run through `inBackground`, or a `backgroundDb` view) waits while
 *    API work is queued, and before each of its statements the event loop gets a turn, so
 *    requests that arrived meanwhile are read and queue their statements ahead of it.
 * A statement or a whole transaction is the unit: a transaction already begun is never
 * interrupted (it is one session), so background transactions must stay short.
 * The background lane is not starved: after `MAX_API_STREAK` API turns in a row while background
 * work waits, one background turn goes.
 *
 * The lane travels with the async context (AsyncLocalStorage), so everything a background
 * task awaits — the engine it calls included — is in its lane without passing anything down.
 * On PostgreSQL the lane is ignored (each statement has its own pooled connection).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Db } from './db.js';

export type Lane = 'api' | 'background';

const lanes = new AsyncLocalStorage<Lane>();

/** Runs `fn` (and everything it awaits) in the background lane. */
export function inBackground<T>(fn: () => T): T {
  return lanes.run('background', fn);
}

export function currentLane(): Lane {
  return lanes.getStore() ?? 'api';
}

/** The same connection, every call of which runs in the background lane. */
export function backgroundDb(db: Db): Db {
  return {
    engine: db.engine,
    query: (sql, params, ...rest) => inBackground(() => (db.query as (...a: unknown[]) => Promise<any[]>)(sql, params, ...rest)),
    exec: (sql) => inBackground(() => db.exec(sql)),
    transaction: (fn) => inBackground(() => db.transaction(fn)),
    listen: (channel, onNotify) => inBackground(() => db.listen(channel, onNotify)),
    notify: (channel, payload) => inBackground(() => db.notify(channel, payload)),
    channelName: (channel) => db.channelName(channel),
    // Closing belongs to whoever opened the connection, not to a view of it.
    close: async () => {},
  };
}

/** Every method of `target` runs in the background lane (an engine handed to a worker). */
export function backgroundCalls<T extends object>(target: T): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value = Reflect.get(t, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => inBackground(() => value.apply(t, args));
    },
  });
}

/** API turns in a row while background work waits, before one background turn. */
const MAX_API_STREAK = 8;

/**
 * Hands the connection to one unit of work at a time, API lane first. A background unit is
 * granted only after a `setImmediate` turn, so I/O callbacks (new requests) run before it.
 */
export class PriorityGate {
  private _busy = false;
  private yielding = false;
  private apiStreak = 0;
  private readonly api: Array<() => void> = [];
  private readonly background: Array<() => void> = [];

  /** Whether a unit of work holds the connection (metrics). */
  get busy(): boolean {
    return this._busy;
  }

  /** Units of work waiting for the connection, both lanes (metrics). */
  get waiting(): number {
    return this.api.length + this.background.length;
  }

  async run<T>(fn: () => Promise<T>, lane: Lane = currentLane()): Promise<T> {
    await new Promise<void>((grant) => {
      (lane === 'api' ? this.api : this.background).push(grant);
      this.dispatch();
    });
    try {
      return await fn();
    } finally {
      this._busy = false;
      this.dispatch();
    }
  }

  private dispatch(): void {
    if (this._busy || this.yielding) return;
    const backgroundWaits = this.background.length > 0;
    if (this.api.length > 0 && (this.apiStreak < MAX_API_STREAK || !backgroundWaits)) {
      this.apiStreak = backgroundWaits ? this.apiStreak + 1 : 0;
      this.grant(this.api.shift()!);
      return;
    }
    if (!backgroundWaits) return;
    // Let the event loop read sockets first; API work that arrives in that turn goes ahead
    // (unless the streak says background work has waited long enough).
    this.yielding = true;
    setImmediate(() => {
      this.yielding = false;
      if (this._busy) return;
      if (this.api.length > 0 && this.apiStreak < MAX_API_STREAK) return this.dispatch();
      this.apiStreak = 0;
      this.grant(this.background.shift()!);
    });
  }

  private grant(next: () => void): void {
    this._busy = true;
    next();
  }
}
