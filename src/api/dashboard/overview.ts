/**
 * The overview (GET /dashboard/api/overview) and its live stream (SSE, one `overview` event every
 * 5 s). Figures are computed at most once per 4 s per environment and shared by every open
 * dashboard, so ten open tabs cost what one does (queries: store/dashboard-stats.ts).
 */
import type { Static } from '@sinclair/typebox';
import { onDeadline } from '../../realtime/token-expiry.js';
import { CIRCUIT_OPEN_MS } from '../../queue/delivery-task.js';
import { dueRunStats } from '../../store/queue-stats.js';
import type { Db } from '../../store/db.js';
import { channelCircuits, deliveriesSince, failuresSince, triggersPerMinute, unfinishedRunCounts } from '../../store/dashboard-stats.js';
import type { ApiDeps, App } from '../types.js';
import { answerEventStreamHead, openEventStream } from '../event-stream.js';
import { dashboardContext } from './context.js';
import { OverviewBody } from './schemas.js';

export const OVERVIEW_INTERVAL_MS = 5_000;
const CACHE_MS = 4_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const KEEPALIVE_MS = 25_000;

type Overview = Static<typeof OverviewBody>;

export async function computeOverview(db: Db, now: Date): Promise<Overview> {
  const hourAgo = new Date(now.getTime() - HOUR_MS);
  // The 60 minute buckets end with the current minute.
  const lastMinute = Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS;
  const firstMinute = lastMinute - 59 * MINUTE_MS;
  const [triggers, counts, due, deliveries, failures, circuits] = await Promise.all([
    triggersPerMinute(db, new Date(firstMinute)),
    unfinishedRunCounts(db),
    dueRunStats(db, now),
    deliveriesSince(db, hourAgo),
    failuresSince(db, hourAgo),
    channelCircuits(db),
  ]);
  const perMinute = new Map(triggers.map((t) => [new Date(t.minute).getTime(), t.count]));
  return {
    generated_at: now.toISOString(),
    triggers_per_minute: Array.from({ length: 60 }, (_, i) => {
      const minute = firstMinute + i * MINUTE_MS;
      return { minute: new Date(minute).toISOString(), count: perMinute.get(minute) ?? 0 };
    }),
    runs: {
      ...counts,
      due: due.count,
      oldest_due_age_ms: due.oldestWakeAt ? Math.max(0, now.getTime() - new Date(due.oldestWakeAt).getTime()) : 0,
    },
    deliveries_last_hour: deliveries,
    circuits: circuits.map((c) => {
      const openUntil = c.open_until ? new Date(c.open_until).getTime() : null;
      const state = openUntil === null ? 'closed' as const : openUntil > now.getTime() ? 'open' as const : 'half_open' as const;
      return { channel_key: c.channel_key, provider: c.provider, state, ...(openUntil !== null ? { opened_at: new Date(openUntil - CIRCUIT_OPEN_MS).toISOString() } : {}) };
    }),
    failures_last_hour: failures.map((f) => ({
      kind: f.kind,
      ...(f.workflow ? { workflow: f.workflow } : {}),
      ...(f.channel_key ? { channel_key: f.channel_key } : {}),
      reason: f.reason,
      count: f.count,
      last_at: new Date(f.last_at).toISOString(),
    })),
  };
}

export function registerOverviewRoutes(app: App, deps: ApiDeps): void {
  const contextOf = dashboardContext(deps);
  const cache = new Map<string, { at: number; value: Promise<Overview> }>();
  const overview = (environment: string, db: Db): Promise<Overview> => {
    const now = deps.clock.now();
    const hit = cache.get(environment);
    if (hit && now.getTime() - hit.at < CACHE_MS && now.getTime() >= hit.at) return hit.value;
    const value = computeOverview(db, now);
    cache.set(environment, { at: now.getTime(), value });
    value.catch(() => cache.delete(environment));
    return value;
  };

  app.get('/dashboard/api/overview', {
    config: { auth: 'secret', dashboard: true },
    schema: { tags: ['dashboard'], response: { 200: OverviewBody } },
  }, async (request) => {
    const ctx = await contextOf(request);
    return overview(ctx.environment, ctx.db);
  });

  const open = new Set<() => void>();
  app.addHook('preClose', async () => { for (const end of open) end(); });

  app.get('/dashboard/api/overview/stream', {
    config: { auth: 'secret', dashboard: true },
    schema: { tags: ['dashboard'], produces: ['text/event-stream'] },
  }, async (request, reply) => {
    const ctx = await contextOf(request);
    const first = await overview(ctx.environment, ctx.db);
    if (request.method === 'HEAD') return answerEventStreamHead(reply);
    const res = openEventStream(reply, 'no-store, no-transform');
    const event = (body: Overview) => `event: overview\ndata: ${JSON.stringify(body)}\n\n`;
    res.write(`retry: 5000\n${event(first)}`);
    let busy = false;
    const tick = setInterval(() => {
      // A slow database skips a beat rather than queueing them; a slow client is cut off.
      if (busy || res.writableEnded) return;
      if (res.writableLength > 1024 * 1024) { res.destroy(); return; }
      busy = true;
      overview(ctx.environment, ctx.db)
        .then((body) => { if (!res.writableEnded) res.write(event(body)); })
        .catch((err: unknown) => request.log.warn({ err }, 'dashboard overview stream'))
        .finally(() => { busy = false; });
    }, OVERVIEW_INTERVAL_MS).unref();
    const keepalive = setInterval(() => { if (!res.writableEnded) res.write(': ping\n\n'); }, KEEPALIVE_MS).unref();
    const end = () => res.end();
    open.add(end);
    // The stream ends with the session (the browser then signs in again).
    const cancelExpiry = onDeadline(deps.clock, request.dashboardSession?.expiresAt, end);
    res.on('close', () => {
      open.delete(end);
      clearInterval(tick);
      clearInterval(keepalive);
      cancelExpiry();
    });
  });
}
