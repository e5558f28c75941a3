/**
 * Rate limits (knock-api.md §1.8): requests per second per API key, and per user for requests
 * that carry a user token (Knock keys those by environment + user, so one busy browser user does
 * not starve the others). Over the limit: 429 in Knock's error shape with `retry-after`.
 *
 * The counters live in the database (src/store/rate-limits.ts) so the limit holds across every
 * API process. To keep the hot path cheap a process reserves a slice of a window's quota (1/20
 * of the limit) and serves requests from it locally; only when the slice is spent does it ask
 * the database again. The limit is never exceeded across processes; a process may hold an
 * unspent part of a slice, so others can be refused up to one slice per process early.
 */
import type { Clock } from '../../domain/clock.js';
import { errors } from '../../domain/errors.js';
import type { Db } from '../../store/db.js';
import { deleteOldWindows, reserveQuota } from '../../store/rate-limits.js';
import type { App } from '../types.js';

export interface RateLimitOptions {
  /** Requests per second per API key (requests without a user token); 0 = unlimited. */
  perKey: number;
  /** Requests per second per user for requests with a user token; 0 = unlimited. */
  perUser: number;
}

/** Knock's highest tier is 1,000/s per environment; Herald's own default is higher still. */
export const DEFAULT_RATE_LIMITS: RateLimitOptions = { perKey: 10_000, perUser: 200 };

const WINDOW_MS = 1000;
const KEEP_WINDOWS_MS = 60_000;

interface Slot {
  window: number;
  granted: number;
  used: number;
  exhausted: boolean;
  pending?: Promise<void>;
}

/** One process's view of the shared counters. */
export class QuotaLimiter {
  private readonly slots = new Map<string, Slot>();
  private lastSweep = 0;

  constructor(private readonly db: Db, private readonly clock: Clock, private readonly onError: (err: unknown) => void) {}

  /** Takes one request from `bucket`; returns 0 if allowed, else the ms until the window ends. */
  async take(bucket: string, limit: number): Promise<number> {
    const now = this.clock.now().getTime();
    const window = Math.floor(now / WINDOW_MS) * WINDOW_MS;
    let slot = this.slots.get(bucket);
    if (!slot || slot.window !== window) {
      slot = { window, granted: 0, used: 0, exhausted: false };
      this.slots.set(bucket, slot);
      this.sweep(now);
    }
    while (slot.used >= slot.granted) {
      if (slot.exhausted) return window + WINDOW_MS - now;
      slot.pending ??= this.reserve(bucket, slot, limit);
      await slot.pending;
    }
    slot.used++;
    return 0;
  }

  private async reserve(bucket: string, slot: Slot, limit: number): Promise<void> {
    const want = Math.max(1, Math.min(limit, Math.ceil(limit / 20)));
    try {
      const got = await reserveQuota(this.db, bucket, new Date(slot.window), want, limit);
      slot.granted += got;
      if (got === 0) slot.exhausted = true;
    } catch (err) {
      // The database is what the request needs anyway; do not turn its hiccup into 429s.
      this.onError(err);
      slot.granted += want;
    } finally {
      slot.pending = undefined;
    }
  }

  /** Forgets old windows here and, at most once a minute, in the database. */
  private sweep(now: number): void {
    if (now - this.lastSweep < KEEP_WINDOWS_MS) return;
    this.lastSweep = now;
    for (const [bucket, slot] of this.slots) if (slot.window < now - WINDOW_MS) this.slots.delete(bucket);
    deleteOldWindows(this.db, new Date(now - KEEP_WINDOWS_MS)).catch(this.onError);
  }
}

/**
 * Registers the limit as an onRequest hook that runs after authentication, so it counts every
 * authenticated request, realtime socket upgrades included (their key and token are checked by
 * the same auth hook, before the upgrade). Routes that take no Herald key (`none`,
 * `webhook_token`) are not counted.
 */
export function registerRateLimit(app: App, deps: { db: Db; clock: Clock; rateLimits?: RateLimitOptions }): void {
  const limits = deps.rateLimits ?? DEFAULT_RATE_LIMITS;
  if (limits.perKey <= 0 && limits.perUser <= 0) return;
  const limiter = new QuotaLimiter(deps.db, deps.clock, (err) => app.log.warn({ err }, 'rate-limit counter unavailable; request allowed'));
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
    reply.header('retry-after', String(seconds));
    reply.header('retry-after-ms', String(waitMs));
    throw errors.rateLimited(seconds);
  });
}
