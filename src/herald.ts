import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { buildApp } from './api/app.js';
import type { App } from './api/types.js';
import type { RateLimitOptions } from './api/plugins/rate-limit.js';
import { systemClock, type Clock } from './domain/clock.js';
import { createEngine } from './engine/create-engine.js';
import type { Engine } from './engine/engine.js';
import { BackgroundWorker, type BackgroundTask } from './queue/background-worker.js';
import { createFanoutTask } from './queue/fanout-task.js';
import { createScheduleTask } from './queue/schedule-task.js';
import { createBatchFlushTask } from './queue/batch-flush-task.js';
import { createBulkOperationTask } from './queue/bulk-operation-task.js';
import { createDeliveryTask } from './queue/delivery-task.js';
import { upsertChannelGroups, upsertChannels, upsertEmailLayouts } from './store/configured-channels.js';
import type { ChannelConfig, ChannelGroupConfig, EmailLayoutConfig } from './domain/channel-config.js';
import { closeSmtpTransports } from './providers/smtp.js';
import { RunWorker } from './queue/run-worker.js';
import { createRunWaker } from './queue/wake.js';
import type { Db } from './store/db.js';
import { migrate } from './store/migrate.js';
import { ensureApiKeys, type KeyPair } from './store/api-keys.js';
import { ensureServiceToken, type EnsuredServiceToken } from './store/service-tokens.js';
import { releaseAllClaims } from './store/runs.js';
import { createEngineStore } from './store/engine-store.js';
import { backgroundCalls, backgroundDb, inBackground } from './store/pglite-priority.js';
import { syncWorkflowsFromDirectory, type WorkflowSyncReport } from './workflows/sync.js';
import { metricsOptionsFromEnv, type MetricsOptions } from './metrics/config.js';
import { createMetricsRegistry } from './metrics/registry.js';
import { noMetrics } from './metrics/port.js';
import { startMetricsServer } from './api/routes/metrics.js';
import { flushTracing, startTracingFromEnv } from './telemetry/start.js';
import { withTraceContexts } from './store/trace-context.js';
import { retentionOptionsFromEnv, withRetentionDefaults, type RetentionOptions } from './retention/config.js';
import { createRetentionTask } from './queue/retention-task.js';
import { settlesWithin } from './queue/settles-within.js';

/** How long `close()` waits by default for in-flight requests and claimed runs. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

export interface HeraldOptions {
  db: Db;
  clock?: Clock;
  logger: FastifyBaseLogger;
  keys?: { secret?: string; public?: string };
  /** The management API's service token (HERALD_SERVICE_TOKEN) instead of the stored one. */
  serviceToken?: string;
  workflowsDir?: string;
  signingPublicKey?: string;
  /** Base URL for absolute URLs in answers (HERALD_PUBLIC_URL); absent = the listen address. */
  publicUrl?: string;
  /** Requests per second per API key and per user token (0 = unlimited); default 10,000 and 200. */
  rateLimits?: RateLimitOptions;
  pollIntervalMs?: number;
  /** A unique name for this process's worker (lease owner). */
  workerId?: string;
  /** Subscribers per fan-out page (tuning, and tests that stop a fan-out half-way). */
  fanoutPageSize?: number;
  /**
   * Outbound calls whose address comes from data (http_fetch steps, webhook channel URLs, chat
   * incoming-webhook URLs in channel data): `allowPrivateNetworks` lets them reach loopback,
   * private, link-local, metadata and other special-purpose addresses (refused by default: the
   * SSRF guard, net/ssrf-guard.ts).
   */
  outbound?: { allowPrivateNetworks?: boolean };
  /** http_fetch steps: `timeoutMs` replaces Knock's 15 s request timeout (tests use a short one instead of waiting 15 s). */
  fetch?: { timeoutMs?: number };
  /** Configured channels, upserted by key at start-up. */
  channels?: readonly ChannelConfig[];
  /** Configured channel groups and email layouts, replaced at start-up. */
  channelGroups?: readonly ChannelGroupConfig[];
  emailLayouts?: readonly EmailLayoutConfig[];
  /** Prometheus metrics (/metrics); absent = from HERALD_METRICS* (metrics/config.ts). */
  metrics?: MetricsOptions;
  /** Data retention (README "Retention"); absent = from HERALD_RETENTION* (retention/config.ts), fields left out = defaults. */
  retention?: Partial<RetentionOptions>;
  /** How long `close()` waits for in-flight requests and claimed runs (default 10 s). */
  shutdownTimeoutMs?: number;
}

export interface Herald {
  app: App;
  engine: Engine;
  worker: RunWorker;
  /** Fan-out pages, bulk operations, due schedules: durable work outside recipient runs. */
  background: BackgroundWorker;
  keys: KeyPair;
  /** The management API's token; `token` is set only when generated now (print it once) or configured. */
  serviceToken: EnsuredServiceToken;
  workflows: WorkflowSyncReport;
  /** The metrics listener when /metrics has its own port (HERALD_METRICS_PORT), else null. */
  metricsServer: FastifyInstance | null;
  close(): Promise<void>;
}

/** Composition: store -> engine -> worker -> api. Used by main.ts and by the tests alike. */
export async function createHerald(opts: HeraldOptions): Promise<Herald> {
  const clock = opts.clock ?? systemClock;
  // Tracing only when an OTEL_* variable asks for it (telemetry/start.ts); process-wide.
  await startTracingFromEnv(process.env, opts.logger);
  await migrate(opts.db);
  const keys = await ensureApiKeys(opts.db, opts.keys ?? {});
  const serviceToken = await ensureServiceToken(opts.db, opts.serviceToken, clock.now());
  await upsertChannels(opts.db, [...(opts.channels ?? [])], clock.now());
  await upsertChannelGroups(opts.db, [...(opts.channelGroups ?? [])], clock.now());
  await upsertEmailLayouts(opts.db, [...(opts.emailLayouts ?? [])], clock.now());
  // With PostgreSQL other processes may hold claims, which expire with their lease; PGlite's
  // files belong to this process alone, so claims left by a crashed run are released now.
  if (opts.db.engine === 'pglite') {
    const released = await releaseAllClaims(opts.db, clock.now());
    if (released > 0) opts.logger.warn({ released }, 'released runs claimed by a previous process that stopped without finishing them');
  }
  const workflows = opts.workflowsDir
    ? await syncWorkflowsFromDirectory(opts.db, opts.workflowsDir, clock.now())
    : { loaded: [], errors: [] };
  const wakeWorkers = createRunWaker(opts.db, (err) => opts.logger.warn({ err }, 'NOTIFY failed; workers will poll'));
  const outbound = { allowPrivateNetworks: opts.outbound?.allowPrivateNetworks ?? false };
  const metricsOptions = opts.metrics ?? metricsOptionsFromEnv(process.env);
  const monitoring = metricsOptions.enabled ? createMetricsRegistry({ db: opts.db, clock, onError: (err) => opts.logger.warn({ err }, 'metrics: reading queue figures failed') }) : null;
  const metrics = monitoring?.metrics ?? noMetrics;
  const engine = createEngine({ store: withTraceContexts(createEngineStore(opts.db, randomUUID, metrics), opts.db), clock, logger: opts.logger, wakeWorkers, fetch: { ...opts.fetch, ...outbound } });
  // Workers run in the background lane: on PGlite's one connection the API goes first.
  const bgDb = backgroundDb(opts.db);
  const worker = new RunWorker({ db: bgDb, clock, logger: opts.logger, engine: backgroundCalls(engine), pollIntervalMs: opts.pollIntervalMs, workerId: opts.workerId, metrics, onReleased: wakeWorkers });
  // Each task claims its own rows with SKIP LOCKED; add new kinds of durable work here.
  const backgroundTasks: BackgroundTask[] = [
    createFanoutTask({ db: opts.db, clock, wakeWorkers, pageSize: opts.fanoutPageSize }),
    createBatchFlushTask({ db: opts.db, clock, wakeWorkers }),
    createBulkOperationTask({ db: opts.db, clock, workerId: opts.workerId }),
    createScheduleTask({ db: opts.db, clock, engine, logger: opts.logger }),
    createDeliveryTask({ db: opts.db, clock, logger: opts.logger, workerId: opts.workerId, outbound, metrics }),
    createRetentionTask({ db: opts.db, clock, logger: opts.logger, options: opts.retention ? withRetentionDefaults(opts.retention) : retentionOptionsFromEnv(process.env) }),
  ];
  const background = new BackgroundWorker({
    db: bgDb,
    logger: opts.logger,
    tasks: backgroundTasks.map((task) => ({ name: task.name, tick: () => inBackground(() => task.tick()) })),
    pollIntervalMs: opts.pollIntervalMs,
  });
  const app = await buildApp({ db: opts.db, clock, keys, engine, signingPublicKey: opts.signingPublicKey, rateLimits: opts.rateLimits, publicUrl: opts.publicUrl,
    serviceTokens: serviceToken.source, metrics, metricsSource: metricsOptions.port === undefined ? monitoring?.source : undefined }, { logger: opts.logger });
  const metricsServer = monitoring && metricsOptions.port !== undefined
    ? await startMetricsServer({ source: monitoring.source, port: metricsOptions.port, host: metricsOptions.host ?? '127.0.0.1', token: metricsOptions.token, logger: opts.logger })
    : null;
  return {
    app,
    engine,
    worker,
    background,
    keys,
    serviceToken,
    workflows,
    metricsServer,
    async close() {
      // Graceful and bounded: stop accepting requests and claiming work at once; in-flight
      // requests are answered (then their connections close), claimed runs finish or are given
      // back due at once; whatever is left at the deadline is cut off.
      const timeoutMs = opts.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
      const appClosed = app.close();
      await Promise.all([worker.stop(timeoutMs), background.stop(timeoutMs)]);
      if (!(await settlesWithin(appClosed, timeoutMs))) app.server.closeAllConnections();
      await appClosed;
      await metricsServer?.close();
      // Pooled SMTP connections close once their sends finish (later sends open new pools).
      closeSmtpTransports();
      // Spans still waiting in the batch processor are exported before the process may exit.
      await flushTracing().catch((err: unknown) => opts.logger.warn({ err }, 'exporting the last spans failed'));
    },
  };
}
