import { loadConfig, type HeraldConfig } from '../config.js';
import { CliError } from './errors.js';
import { createHerald } from '../herald.js';
import { warmRenderPool } from '../templates/liquid.js';
import { addReadinessCheck } from '../api/routes/health.js';
import { createLogger } from './logger.js';
import { openStore } from './open-store.js';
import { assertPortFree } from './port-check.js';

/** Composition root: config -> store -> herald (engine, worker, api) -> listen. */
export async function serve(argv: string[]): Promise<void> {
  let config: HeraldConfig;
  try {
    config = loadConfig(argv);
  } catch (err) {
    throw new CliError(`invalid configuration: ${(err as Error).message}`);
  }
  const logger = await createLogger(config.logLevel);
  const api = config.roles.includes('api');
  const worker = config.roles.includes('worker');
  // Checked before the database is opened: a taken port is reported in milliseconds, not after PGlite's start.
  if (api) await assertPortFree(config.port, config.host);
  const store = await openStore(config);
  logger.info(config.databaseUrl ? 'using PostgreSQL from DATABASE_URL' : `using the embedded PGlite database in ${config.dataDir}`);
  const herald = await createHerald({
    db: store.db,
    logger,
    keys: { secret: config.secretKey, public: config.publicKey },
    serviceToken: config.serviceToken,
    dashboard: { token: config.dashboardToken },
    environments: config.environments,
    defaultLocale: config.defaultLocale,
    workflowsDir: config.workflowsDir,
    signingPublicKey: config.signingPublicKey,
    publicUrl: config.publicUrl,
    rateLimits: { perKey: config.rateLimitPerKey, perUser: config.rateLimitPerUser },
    pollIntervalMs: config.pollIntervalMs,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    outbound: { allowPrivateNetworks: config.outboundAllowPrivateNetworks },
    channels: config.channels,
    channelGroups: config.channelGroups,
    emailLayouts: config.emailLayouts,
  });
  for (const e of herald.workflows.errors) logger.error({ path: e.path, field: e.field }, `workflow not loaded: ${e.message}`);
  logger.info({ workflows: herald.workflows.loaded }, `loaded ${herald.workflows.loaded.length} workflow(s) from ${config.workflowsDir}`);
  const generated = herald.environments.filter((env) => env.keys.generated);
  if (generated.length > 0) {
    // Printed once, on the start that generated them; later starts reuse the stored pairs (`herald keys show`).
    const pairs = generated.map((env) => `  ${env.slug}\n    secret key: ${env.keys.secret}\n    public key: ${env.keys.public}\n`).join('');
    console.log(`\nGenerated API keys (stored in the database; "herald keys show" prints them again):\n${pairs}`);
  }
  if (herald.serviceToken.generated) {
    // Only its hash is stored: this is the one time it is shown ("herald keys rotate service" makes a new one).
    console.log(`Generated the management API service token (shown only now; "herald keys rotate service" replaces a lost one):\n  service token: ${herald.serviceToken.token}\n`);
  }
  let stopping = false;
  if (worker) {
    for (const env of herald.environments) {
      env.worker.start();
      env.background.start();
    }
    // Readiness of the worker role: started and not shutting down.
    addReadinessCheck(herald.app, 'worker', () => (stopping ? 'the worker is stopping' : undefined));
  }
  if (api) {
    await herald.app.listen({ port: config.port, host: config.host });
    // The bound port, not the configured one: PORT=0 asks the OS for a free port (tests, side-by-side runs).
    const bound = herald.app.server.address();
    const port = bound && typeof bound === 'object' ? bound.port : config.port;
    // Start-up cost since the process began (imports included): wall time, and CPU time, which a busy machine does not inflate.
    const cpu = process.cpuUsage();
    logger.info({ startupMs: Math.round(performance.now()), startupCpuMs: Math.round((cpu.user + cpu.system) / 1000) }, `Herald listening on http://${config.host}:${port}`);
  }
  // The render processes start with the worker, not on the first busy moment (see RenderPool.warm),
  // but after listening: each is a Node process whose start would compete with ours for the CPU.
  if (worker) warmRenderPool();
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down: finishing in-flight requests and claimed runs');
    // Herald's own close is bounded; this is the backstop if something still hangs past it.
    setTimeout(() => { logger.error('shutdown took too long; exiting'); process.exit(1); }, config.shutdownTimeoutMs + 5_000).unref();
    await herald.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}
