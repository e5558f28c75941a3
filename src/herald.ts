import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
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
import { syncWorkflowsFromDirectory, watchWorkflowsDirectory, watchWorkflowsFromEnv, type WorkflowSyncReport } from './workflows/sync.js';
import { metricsOptionsFromEnv, type MetricsOptions } from './metrics/config.js';
import { createMetricsRegistry } from './metrics/registry.js';
import { noMetrics } from './metrics/port.js';
import { startMetricsServer } from './api/routes/metrics.js';
import { flushTracing, startTracingFromEnv } from './telemetry/start.js';
import { withTraceContexts } from './store/trace-context.js';
import { retentionOptionsFromEnv, withRetentionDefaults, type RetentionOptions } from './retention/config.js';
import { createRetentionTask } from './queue/retention-task.js';
import { settlesWithin } from './queue/settles-within.js';
import type { Metrics } from './metrics/port.js';
import type { EnvironmentDirectory } from './environments/directory.js';
import { environmentSchema } from './environments/names.js';
import { presentedKey } from './api/plugins/presented-key.js';
import { publicBaseUrl } from './api/public-url.js';
import { createEmailTracking } from './tracking/email-tracking.js';
import { ensureInstallSecret } from './store/install-secrets.js';
import { createDashboardSessions, type DashboardSessions } from './api/dashboard/sessions.js';
import type { DashboardDeps } from './api/types.js';

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
  /**
   * Environment slugs in promotion order (HERALD_ENVIRONMENTS; the server's default is
   * development,production). The first lives in `db`'s schema; each other one gets a schema of
   * its own (environments/names.ts) with its own keys and data. Absent = the first only.
   */
  environments?: readonly string[];
  /** The locale translations fall back to when a recipient has none or it has no translation (HERALD_DEFAULT_LOCALE; default `en`). */
  defaultLocale?: string;
  /** The dashboard: `token` = HERALD_DASHBOARD_TOKEN (signs in to every environment), `assetsDir` = its build (default dashboard/dist). */
  dashboard?: { token?: string; assetsDir?: string };
}

/** One environment's own runtime: its store (schema), keys, engine, workers and API. */
export interface EnvironmentRuntime {
  slug: string;
  db: Db;
  keys: KeyPair;
  engine: Engine;
  worker: RunWorker;
  background: BackgroundWorker;
  /** Its API; only the first environment's listens, requests with another's key are handed over. */
  app: App;
  workflows: WorkflowSyncReport;
}

export interface Herald {
  /** The API that listens: the first environment's, which hands requests with another environment's key to that one. */
  app: App;
  /** The first environment's (development's) engine, worker, background work and keys. */
  engine: Engine;
  worker: RunWorker;
  /** Fan-out pages, bulk operations, due schedules: durable work outside recipient runs. */
  background: BackgroundWorker;
  keys: KeyPair;
  /** Every environment in promotion order (the first is the one above). */
  environments: EnvironmentRuntime[];
  /** The management API's token; `token` is set only when generated now (print it once) or configured. */
  serviceToken: EnsuredServiceToken;
  workflows: WorkflowSyncReport;
  /** The metrics listener when /metrics has its own port (HERALD_METRICS_PORT), else null. */
  metricsServer: FastifyInstance | null;
  close(): Promise<void>;
}

/** Composition: store -> engine -> worker -> api, once per environment. Used by main.ts and by the tests alike. */
export async function createHerald(opts: HeraldOptions): Promise<Herald> {
  const clock = opts.clock ?? systemClock;
  // Tracing only when an OTEL_* variable asks for it (telemetry/start.ts); process-wide.
  await startTracingFromEnv(process.env, opts.logger);
  const slugs = opts.environments ?? ['development'];
  await migrate(opts.db);
  const serviceToken = await ensureServiceToken(opts.db, opts.serviceToken, clock.now());
  const metricsOptions = opts.metrics ?? metricsOptionsFromEnv(process.env);
  // Queue figures come from the first environment's store (metrics/registry.ts).
  const monitoring = metricsOptions.enabled ? createMetricsRegistry({ db: opts.db, clock, onError: (err) => opts.logger.warn({ err }, 'metrics: reading queue figures failed') }) : null;
  const metrics = monitoring?.metrics ?? noMetrics;
  const opened: Db[] = [];
  const cores: EnvironmentCore[] = [];
  try {
    for (const [i, slug] of slugs.entries()) {
      const db = i === 0 ? opts.db : await openEnvironmentDb(opts.db, slug);
      if (i > 0) opened.push(db);
      cores.push(await createEnvironment(slug, db, i === 0 ? opts.keys ?? {} : {}, opts, clock, metrics));
    }
  } catch (err) {
    await Promise.all(opened.map((db) => db.close().catch(() => {})));
    throw err;
  }
  // The other environments' public APIs, reached only through the hand-over of the first one's.
  const [first, ...otherCores] = cores;
  // Dashboard sessions: one signing secret per install (in the first store), every environment's keys.
  const sessions = createDashboardSessions({
    secret: await ensureInstallSecret(opts.db, 'dashboard_session', clock.now()),
    dashboardToken: opts.dashboard?.token,
    environments: cores,
    now: () => clock.now().getTime(),
  });
  const dashboardOf = (slug: string): DashboardDeps => ({ sessions, environment: slug, assetsDir: opts.dashboard?.assetsDir, ...dashboardOrigin(opts.publicUrl) });
  const others: EnvironmentRuntime[] = [];
  for (const core of otherCores) {
    const logger = opts.logger.child({ environment: core.slug });
    others.push({ ...core, app: await buildApp({ db: core.db, clock, keys: core.keys, engine: core.engine, signingPublicKey: opts.signingPublicKey, rateLimits: opts.rateLimits, publicUrl: opts.publicUrl, metrics, dashboard: dashboardOf(core.slug) }, { logger, role: 'environment' }) });
  }
  const directory = runtimeDirectory(cores);
  const app = await buildApp({ db: first.db, clock, keys: first.keys, engine: first.engine, signingPublicKey: opts.signingPublicKey, rateLimits: opts.rateLimits, publicUrl: opts.publicUrl,
    serviceTokens: serviceToken.source, metrics, metricsSource: metricsOptions.port === undefined ? monitoring?.source : undefined, environments: directory, defaultLocale: opts.defaultLocale,
    dashboard: dashboardOf(first.slug) },
  { logger: opts.logger, handOver: others.length > 0 ? handOverByKey(others, sessions) : undefined });
  const environments: EnvironmentRuntime[] = [{ ...first, app }, ...others];
  // Each environment's engine signs tracked email links with the install's secret (in the first
  // store) and its own slug, so the listening API's tracking routes find the message's store.
  const trackingBase = () => publicBaseUrl({ publicUrl: opts.publicUrl }, { server: app } as unknown as FastifyRequest);
  for (const env of environments) {
    env.engine.useEmailTracking?.(createEmailTracking({ db: opts.db, clock, environment: env.slug, baseUrl: trackingBase }));
  }
  // Development mode: the workflows folder is watched and applied without a restart (workflows/sync.ts); stops with the app.
  if (opts.workflowsDir && watchWorkflowsFromEnv(process.env)) watchWorkflowsDirectory({ dir: opts.workflowsDir, environments: directory, clock, logger: opts.logger, closeWith: app });
  const metricsServer = monitoring && metricsOptions.port !== undefined
    ? await startMetricsServer({ source: monitoring.source, port: metricsOptions.port, host: metricsOptions.host ?? '127.0.0.1', token: metricsOptions.token, logger: opts.logger })
    : null;
  return {
    app,
    engine: first.engine,
    worker: first.worker,
    background: first.background,
    keys: first.keys,
    environments,
    serviceToken,
    workflows: first.workflows,
    metricsServer,
    async close() {
      // Graceful and bounded: stop accepting requests and claiming work at once; in-flight
      // requests are answered (then their connections close), claimed runs finish or are given
      // back due at once; whatever is left at the deadline is cut off.
      const timeoutMs = opts.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
      const appsClosed = Promise.all(environments.map((env) => env.app.close()));
      await Promise.all(environments.flatMap((env) => [env.worker.stop(timeoutMs), env.background.stop(timeoutMs)]));
      if (!(await settlesWithin(appsClosed, timeoutMs))) app.server.closeAllConnections();
      await appsClosed;
      await metricsServer?.close();
      // Pooled SMTP connections close once their sends finish (later sends open new pools).
      closeSmtpTransports();
      // The stores opened here for the other environments (the first one's belongs to the caller).
      await Promise.all(opened.map((db) => db.close().catch(() => {})));
      // Spans still waiting in the batch processor are exported before the process may exit.
      await flushTracing().catch((err: unknown) => opts.logger.warn({ err }, 'exporting the last spans failed'));
    },
  };
}

/** A non-first environment's store: its own schema beside the first one's, migrated. */
async function openEnvironmentDb(base: Db, slug: string): Promise<Db> {
  if (!base.openSchema) throw new Error(`environment "${slug}" needs its own schema, and this store cannot open one`);
  const db = await base.openSchema(environmentSchema(base.schema ?? 'public', slug));
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return db;
}

/** An environment without its API (createHerald builds the APIs once every environment exists). */
type EnvironmentCore = Omit<EnvironmentRuntime, 'app'>;

/**
 * One environment: its keys (configured ones only for the first), the configured channels and
 * the workflows folder as its committed content, its engine and workers.
 */
async function createEnvironment(slug: string, db: Db, configuredKeys: { secret?: string; public?: string }, opts: HeraldOptions, clock: Clock, metrics: Metrics): Promise<EnvironmentCore> {
  const logger = opts.environments && opts.environments.length > 1 ? opts.logger.child({ environment: slug }) : opts.logger;
  const keys = await ensureApiKeys(db, configuredKeys);
  await upsertChannels(db, [...(opts.channels ?? [])], clock.now());
  await upsertChannelGroups(db, [...(opts.channelGroups ?? [])], clock.now());
  await upsertEmailLayouts(db, [...(opts.emailLayouts ?? [])], clock.now());
  // With PostgreSQL other processes may hold claims, which expire with their lease; PGlite's
  // files belong to this process alone, so claims left by a crashed run are released now.
  if (db.engine === 'pglite') {
    const released = await releaseAllClaims(db, clock.now());
    if (released > 0) logger.warn({ released }, 'released runs claimed by a previous process that stopped without finishing them');
  }
  const workflows = opts.workflowsDir
    ? await syncWorkflowsFromDirectory(db, opts.workflowsDir, clock.now(), { environment: slug, logger })
    : { loaded: [], errors: [] };
  const wakeWorkers = createRunWaker(db, (err) => logger.warn({ err }, 'NOTIFY failed; workers will poll'));
  const outbound = { allowPrivateNetworks: opts.outbound?.allowPrivateNetworks ?? false };
  const engine = createEngine({ store: withTraceContexts(createEngineStore(db, randomUUID, metrics, { defaultLocale: opts.defaultLocale }), db), clock, logger, wakeWorkers, fetch: { ...opts.fetch, ...outbound } });
  // Workers run in the background lane: on PGlite's one connection the API goes first. Only
  // there: PostgreSQL has a connection per statement, and the lane's AsyncLocalStorage turns on
  // a hook for every promise of the process (74 MB of garbage in 8 s of fan-out, issue 12).
  const lanes = db.engine === 'pglite';
  const bgDb = lanes ? backgroundDb(db) : db;
  const worker = new RunWorker({ db: bgDb, clock, logger, engine: lanes ? backgroundCalls(engine) : engine, pollIntervalMs: opts.pollIntervalMs, workerId: opts.workerId, onReleased: wakeWorkers });
  // Each task claims its own rows with SKIP LOCKED; add new kinds of durable work here.
  const backgroundTasks: BackgroundTask[] = [
    createFanoutTask({ engine, wakeWorkers, pageSize: opts.fanoutPageSize, embedded: db.engine === 'pglite', workerId: opts.workerId }),
    createBatchFlushTask({ db, clock, wakeWorkers }),
    createBulkOperationTask({ db, clock, workerId: opts.workerId }),
    createScheduleTask({ db, clock, engine, logger }),
    createDeliveryTask({ db, clock, logger, workerId: opts.workerId, outbound, metrics }),
    createRetentionTask({ db, clock, logger, options: opts.retention ? withRetentionDefaults(opts.retention) : retentionOptionsFromEnv(process.env) }),
  ];
  const background = new BackgroundWorker({
    db: bgDb,
    logger,
    tasks: lanes ? backgroundTasks.map((task) => ({ name: task.name, tick: () => inBackground(() => task.tick()) })) : backgroundTasks,
    // PostgreSQL runs statements concurrently: the fan-out's long, pipelined passes get a loop
    // of their own instead of holding up batch flushes and deliveries (queue/fanout-task.ts).
    ownLoops: lanes ? [] : ['fanout'],
    pollIntervalMs: opts.pollIntervalMs,
  });
  return { slug, db, keys, engine, worker, background, workflows };
}

/** The management API's view of the environments: each one's store and keys. */
function runtimeDirectory(environments: readonly EnvironmentCore[]): EnvironmentDirectory {
  const slugs = environments.map((env) => env.slug);
  const find = (slug: string) => {
    const env = environments.find((e) => e.slug === slug);
    if (!env) throw new Error(`unknown environment "${slug}"`);
    return env;
  };
  return {
    slugs,
    has: (slug) => slugs.includes(slug),
    db: async (slug) => find(slug).db,
    engine: (slug) => find(slug).engine,
    keys: async (slug) => ({ secret: find(slug).keys.secret, public: find(slug).keys.public }),
    next: (slug) => {
      const i = slugs.indexOf(slug);
      return i >= 0 && i + 1 < slugs.length ? slugs[i + 1] : undefined;
    },
  };
}

/** The dashboard's CSRF origin and cookie flag from HERALD_PUBLIC_URL. */
function dashboardOrigin(publicUrl: string | undefined): Pick<DashboardDeps, 'origin' | 'secureCookie'> {
  if (!publicUrl) return {};
  const url = new URL(publicUrl);
  return { origin: url.origin, secureCookie: url.protocol === 'https:' };
}

/**
 * Which other environment's API a request belongs to: the one whose secret or public key it
 * carries (Authorization, or `api_key` in the query string for sockets) on a public API path,
 * or, carrying no key, whose dashboard session its cookie holds (signature, expiry and
 * credential checked here, before anything runs). Anything else stays with the first
 * environment's API, which authenticates it (or refuses it) as before.
 */
function handOverByKey(others: readonly EnvironmentRuntime[], sessions: DashboardSessions): (req: IncomingMessage) => App | undefined {
  return (req) => {
    // Only the public API (and its sockets) exists per environment; /mgmt, health and metrics are the first one's.
    const url = req.url ?? '';
    if (!url.startsWith('/v1/') && !url.startsWith('/ws/')) return undefined;
    const key = presentedKey(req);
    if (key === undefined) {
      if (req.headers.authorization !== undefined) return undefined;
      const session = sessions.read(req.headers.cookie);
      return session ? others.find((env) => env.slug === session.environment)?.app : undefined;
    }
    for (const env of others) {
      const accepted = env.keys.source?.current() ?? [{ key: env.keys.secret }, { key: env.keys.public }];
      if (accepted.some((k) => k.key === key)) return env.app;
    }
    return undefined;
  };
}
