/**
 * Rate limits (knock-api.md §1.8): requests per second per API key, and per user for requests
 * that carry a user token (Knock keys those by environment + user, so one busy browser user does
 * not starve the others). Over the limit: 429 in Knock's error shape with `retry-after`.
 *
 * The counters live in the database (src/store/rate-limits.ts) so the limit holds across every
 * API process, but a request does not wait for them. Per bucket and one-second window, a process
 * admits its first `limit / 20` requests on its own count (the local allowance) and reports them
 * in the background: every `reconcileMs` one multi-row upsert adds each bucket's local delta and
 * reads the global count back (a window already known to be full admits nothing locally).
 * Beyond the allowance it reserves slices of `limit / 20` from the database on the request path,
 * as before. So a browser user making a few requests a second costs no write of its own; their
 * counts share one statement per interval with every other bucket's.
 *
 * Tolerance: a window may admit up to N × floor(limit / 20) requests more than the limit across
 * N processes (each process's allowance, admitted before it learnt the others'), i.e. 5 % of the
 * limit per process; limits under 20 have no allowance and are exact. A process may also hold an
 * unspent part of a slice, so others can be refused up to one slice per process early.
 */
import type { Clock } from '../../domain/clock.js';
import { errors } from '../../domain/errors.js';
import type { Db } from '../../store/db.js';
import { countKey, deleteOldWindows, reportCounts, reserveQuota, type CountReport } from '../../store/rate-limits.js';
import type { ApiDeps, App } from '../types.js';

export interface RateLimitOptions {
  /** Requests per second per API key (requests without a user token); 0 = unlimited. */
  perKey: number;
  /** Requests per second per user for requests with a user token; 0 = unlimited. */
  perUser: number;
  /** How often local counts are reported to the database (default 250 ms). */
  reconcileMs?: number;
}

/** Knock's highest tier is 1,000/s per environment; Herald's own default is higher still. */
export const DEFAULT_RATE_LIMITS: RateLimitOptions = { perKey: 10_000, perUser: 200 };

const WINDOW_MS = 1000;
const KEEP_WINDOWS_MS = 60_000;
const DEFAULT_RECONCILE_MS = 250;
/** The local allowance and the reserved slice are both this share of the limit. */
const SHARE = 20;

interface Slot {
  bucket: string;
  window: number;
  limit: number;
  /** Admitted on the local allowance; `reported` of them are in the database already. */
  local: number;
  reported: number;
  /** Reserved in the database, and how many of those were used. */
  granted: number;
  sliceUsed: number;
  /** The window's global count as last read back. */
  seen: number;
  exhausted: boolean;
  pending?: Promise<void>;
}

/** One process's view of the shared counters. */
export class QuotaLimiter {
  private readonly slots = new Map<string, Slot>();
  private lastSweep = 0;
  private readonly timer: NodeJS.Timeout;
  private reporting: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly onError: (err: unknown) => void,
    reconcileMs = DEFAULT_RECONCILE_MS,
  ) {
    this.timer = setInterval(() => { void this.reconcile(); }, reconcileMs);
    this.timer.unref();
  }

  /** Takes one request from `bucket`; returns 0 if allowed, else the ms until the window ends. */
  async take(bucket: string, limit: number): Promise<number> {
    // Not a positive finite limit = no limit (a NaN limit would otherwise never be granted nor
    // exhausted, and the loop below would spin).
    if (!Number.isFinite(limit) || limit <= 0) return 0;
    const now = this.clock.now().getTime();
    const window = Math.floor(now / WINDOW_MS) * WINDOW_MS;
    const key = countKey(bucket, window);
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { bucket, window, limit, local: 0, reported: 0, granted: 0, sliceUsed: 0, seen: 0, exhausted: false };
      this.slots.set(key, slot);
      this.sweep(now);
    }
    for (;;) {
      if (slot.sliceUsed < slot.granted) {
        slot.sliceUsed++;
        return 0;
      }
      if (slot.exhausted) return window + WINDOW_MS - now;
      const unreported = slot.local - slot.reported;
      if (slot.local < Math.floor(limit / SHARE) && slot.seen + unreported < limit) {
        slot.local++;
        return 0;
      }
      slot.pending ??= this.reserve(slot);
      await slot.pending;
    }
  }

  private async reserve(slot: Slot): Promise<void> {
    const want = Math.max(1, Math.ceil(slot.limit / SHARE));
    const unreported = slot.local - slot.reported;
    slot.reported = slot.local;
    try {
      const { granted, count } = await reserveQuota(this.db, slot.bucket, new Date(slot.window), unreported, want, slot.limit);
      slot.granted += granted;
      slot.seen = Math.max(slot.seen, count);
      if (granted === 0) slot.exhausted = true;
    } catch (err) {
      // The database is what the request needs anyway; do not turn its hiccup into 429s.
      this.onError(err);
      slot.reported -= unreported;
      slot.granted += want;
    } finally {
      slot.pending = undefined;
    }
  }

  /**
   * Reports every live window's local delta in one statement and learns the global counts.
   * A window that has ended is forgotten unreported: nobody is counted against it any more.
   */
  reconcile(): Promise<void> {
    this.reporting ??= this.report().finally(() => { this.reporting = null; });
    return this.reporting;
  }

  private async report(): Promise<void> {
    const now = this.clock.now().getTime();
    const sent: Array<{ slot: Slot; delta: number }> = [];
    const reports: CountReport[] = [];
    for (const [key, slot] of this.slots) {
      if (slot.window + WINDOW_MS <= now) {
        this.slots.delete(key);
        continue;
      }
      const delta = slot.local - slot.reported;
      if (delta === 0) continue;
      slot.reported = slot.local;
      sent.push({ slot, delta });
      reports.push({ bucket: slot.bucket, windowStart: new Date(slot.window), delta });
    }
    if (reports.length === 0) return;
    try {
      const counts = await reportCounts(this.db, reports);
      for (const { slot } of sent) slot.seen = Math.max(slot.seen, counts.get(countKey(slot.bucket, slot.window)) ?? 0);
    } catch (err) {
      this.onError(err);
      for (const { slot, delta } of sent) slot.reported -= delta;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Forgets old windows in the database, at most once a minute (here: `report` forgets them). */
  private sweep(now: number): void {
    if (now - this.lastSweep < KEEP_WINDOWS_MS) return;
    this.lastSweep = now;
    deleteOldWindows(this.db, new Date(now - KEEP_WINDOWS_MS)).catch(this.onError);
  }
}

/**
 * Registers the limit as an onRequest hook that runs after authentication, so it counts every
 * authenticated request, realtime socket upgrades included (their key and token are checked by
 * the same auth hook, before the upgrade). Routes that take no Herald key (`none`,
 * `webhook_token`) are not counted.
 */
export function registerRateLimit(app: App, deps: { db: Db; clock: Clock; rateLimits?: RateLimitOptions; metrics?: ApiDeps['metrics'] }): void {
  const limits = deps.rateLimits ?? DEFAULT_RATE_LIMITS;
  if (limits.perKey <= 0 && limits.perUser <= 0) return;
  const limiter = new QuotaLimiter(deps.db, deps.clock, (err) => app.log.warn({ err }, 'rate-limit counter unavailable; request allowed'), limits.reconcileMs);
  app.addHook('onClose', async () => { limiter.close(); });
  app.addHook('onRequest', async (request, reply) => {
    const auth = request.auth;
    if (!auth) return;
    const perUser = auth.kind === 'public' && auth.userId !== undefined;
    const limit = perUser ? limits.perUser : limits.perKey;
    if (limit <= 0) return;
    const bucket = perUser ? `user:${auth.userId}` : `key:${auth.kind}`;
    const waitMs = await limiter.take(bucket, limit);
    if (waitMs === 0) return;
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    deps.metrics?.rateLimited(perUser ? 'user' : 'key');
    reply.header('retry-after', String(seconds));
    reply.header('retry-after-ms', String(waitMs));
    throw errors.rateLimited(seconds);
  });
}
