/**
 * The Prometheus side of Herald's metrics: one registry per Herald (tests run several in one
 * process) holding the per-process counters, which the rest of Herald feeds through the
 * `Metrics` port (port.ts), and the whole-queue gauges, read from the database at scrape time
 * (store/queue-stats.ts). prom-client's default metrics add the process's CPU, memory, file
 * descriptors, GC and event-loop lag (`nodejs_eventloop_lag_*`).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Clock } from '../domain/clock.js';
import type { Db, PoolStats } from '../store/db.js';
import { circuitStates, dueRunStats } from '../store/queue-stats.js';
import type { CountedRunEvent, Metrics, MetricsSource } from './port.js';
import { boundedLabel } from './bounded-label.js';

/** Distinct workflow label values per process; more become `_other` (the key comes from requests). */
const MAX_WORKFLOW_LABELS = 500;

/** Run and step events (plan-run.ts) and the label value each one counts under. */
const RUN_EVENTS: Record<string, string> = { run_started: 'started', run_completed: 'completed', run_halted: 'halted' };
const STEP_EVENTS: Record<string, string> = { step_completed: 'completed', step_skipped: 'skipped', step_failed: 'failed' };

export interface MetricsRegistry {
  /** This Herald's metrics only. */
  registry: Registry;
  metrics: Metrics;
  /** What /metrics serves: the process's default metrics, then this Herald's. */
  source: MetricsSource;
}

/**
 * prom-client's default metrics describe the process, and each collection starts observers
 * (event-loop delay, GC) that are never stopped: one registry per process, not per Herald.
 */
let processRegistry: Registry | null = null;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export interface MetricsRegistryOptions {
  db: Db;
  clock: Clock;
  /** Where a failed database read at scrape time is reported (the gauges then have no sample). */
  onError: (err: unknown) => void;
}

export function createMetricsRegistry(opts: MetricsRegistryOptions): MetricsRegistry {
  const registry = new Registry();
  const registers = [registry];

  const triggers = new Counter({ name: 'herald_triggers_total', help: 'HTTP workflow triggers by workflow and outcome', labelNames: ['workflow', 'outcome'], registers });
  const runs = new Counter({ name: 'herald_runs_total', help: 'Run events committed by this process: started, completed, halted, cancelled', labelNames: ['event'], registers });
  const steps = new Counter({ name: 'herald_steps_total', help: 'Workflow steps by type and outcome (completed, skipped, failed)', labelNames: ['type', 'outcome'], registers });
  const lateness = new Histogram({
    name: 'herald_delay_lateness_seconds',
    help: 'How long after its end a delay step was completed',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers,
  });
  const messages = new Counter({ name: 'herald_messages_total', help: 'Messages by channel type and the status they reached (created, or settled by delivery)', labelNames: ['channel_type', 'status'], registers });
  const attempts = new Counter({ name: 'herald_delivery_attempts_total', help: 'Provider calls by provider and outcome', labelNames: ['provider', 'outcome'], registers });
  const latency = new Histogram({
    name: 'herald_delivery_duration_seconds',
    help: 'Provider call latency by provider and outcome',
    labelNames: ['provider', 'outcome'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const connections = new Gauge({ name: 'herald_realtime_connections', help: 'Open realtime connections of this process by transport', labelNames: ['transport'], registers });
  const rateLimited = new Counter({ name: 'herald_rate_limit_rejections_total', help: 'Requests refused with 429 by scope (key, user)', labelNames: ['scope'], registers });
  // Zero samples from the start, so rate() and alerts see the series before the first event.
  for (const transport of ['websocket', 'sse']) connections.set({ transport }, 0);
  for (const scope of ['key', 'user']) rateLimited.inc({ scope }, 0);
  for (const event of ['started', 'completed', 'halted', 'cancelled']) runs.inc({ event }, 0);

  registerPoolGauges(registry, opts.db);
  registerQueueGauges(registry, opts);

  const workflowLabel = boundedLabel(MAX_WORKFLOW_LABELS);
  const metrics: Metrics = {
    trigger: (workflow, outcome) => triggers.inc({ workflow: workflowLabel(workflow), outcome }),
    runEvents(events: readonly CountedRunEvent[]) {
      for (const e of events) {
        const run = RUN_EVENTS[e.event];
        if (run) { runs.inc({ event: run }); continue; }
        const step = STEP_EVENTS[e.event];
        if (!step) continue;
        steps.inc({ type: e.step_type ?? 'unknown', outcome: step });
        const lateMs = e.data?.late_ms;
        if (e.step_type === 'delay' && typeof lateMs === 'number') lateness.observe(lateMs / 1000);
      }
    },
    runsCancelled: (count) => { if (count > 0) runs.inc({ event: 'cancelled' }, count); },
    message: (channelType, status) => messages.inc({ channel_type: channelType, status }),
    deliveryAttempt(provider, outcome, seconds) {
      attempts.inc({ provider, outcome });
      if (seconds !== null) latency.observe({ provider, outcome }, seconds);
    },
    connectionOpened: (transport) => connections.inc({ transport }),
    connectionClosed: (transport) => connections.dec({ transport }),
    rateLimited: (scope) => rateLimited.inc({ scope }),
  };
  const processWide = processMetrics();
  const source: MetricsSource = {
    contentType: registry.contentType,
    metrics: async () => `${await processWide.metrics()}${await registry.metrics()}`,
  };
  return { registry, metrics, source };
}

/** node-postgres pool figures, or PGlite's one session (busy or idle, statements queued for it). */
function registerPoolGauges(registry: Registry, db: Db): void {
  const stats = db.poolStats?.bind(db);
  if (!stats) return;
  const registers = [registry];
  const gauge = (name: string, help: string, pick: (s: PoolStats) => number) =>
    new Gauge({ name, help, registers, collect() { this.set(pick(stats!())); } });
  gauge('herald_db_pool_connections', 'Database connections open in this process\'s pool (PGlite: 1)', (s) => s.total);
  gauge('herald_db_pool_idle_connections', 'Open database connections not in use (PGlite: 1 when no statement runs)', (s) => s.idle);
  gauge('herald_db_pool_max_connections', 'The most connections the pool opens (PGlite: 1)', (s) => s.max);
  gauge('herald_db_pool_waiting_requests', 'Queries waiting for a connection (PGlite: statements queued for its one session)', (s) => s.waiting);
}

/**
 * Figures of the whole queue, shared by every process: read once per scrape (one statement for
 * both due-run gauges, one for the circuits), whichever gauge prom-client collects first.
 */
function registerQueueGauges(registry: Registry, opts: MetricsRegistryOptions): void {
  const registers = [registry];
  let scrape: Promise<void> | null = null;
  const due = new Gauge({ name: 'herald_due_runs', help: 'Unfinished runs whose time has come and that no worker holds (all processes)', registers, collect: () => refresh() });
  const oldest = new Gauge({ name: 'herald_oldest_due_run_age_seconds', help: 'How long the oldest due run has been due (0 when none is)', registers, collect: () => refresh() });
  const circuit = new Gauge({ name: 'herald_provider_circuit_state', help: 'Circuit breaker per channel and provider: 0 closed, 1 open, 2 half-open', labelNames: ['channel', 'provider'], registers, collect: () => refresh() });
  const failures = new Gauge({ name: 'herald_provider_circuit_consecutive_failures', help: 'Consecutive retryable failures per channel and provider', labelNames: ['channel', 'provider'], registers, collect: () => refresh() });

  async function read(): Promise<void> {
    const now = opts.clock.now();
    due.reset(); oldest.reset(); circuit.reset(); failures.reset();
    try {
      const [stats, circuits] = await Promise.all([dueRunStats(opts.db, now), circuitStates(opts.db)]);
      due.set(stats.count);
      oldest.set(stats.oldestWakeAt ? Math.max(0, (now.getTime() - stats.oldestWakeAt.getTime()) / 1000) : 0);
      for (const c of circuits) {
        const labels = { channel: c.channel, provider: c.provider };
        const open = c.openUntil !== null;
        circuit.set(labels, !open ? 0 : c.openUntil!.getTime() > now.getTime() ? 1 : 2);
        failures.set(labels, c.consecutiveFailures);
      }
    } catch (err) {
      // A scrape still answers (process metrics, counters); the database gauges have no sample.
      opts.onError(err);
    }
  }
  // The four gauges are collected in one scrape: they share one read.
  function refresh(): Promise<void> {
    scrape ??= read().finally(() => { setImmediate(() => { scrape = null; }); });
    return scrape;
  }
}
