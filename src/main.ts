import { mkdirSync } from 'node:fs';
import pino from 'pino';
import { loadConfig } from './config.js';
import { createHerald } from './herald.js';
import type { Db } from './store/db.js';
import { openPglite } from './store/pglite-adapter.js';
import { openPostgres } from './store/pg-adapter.js';

/** Composition root: config -> store -> herald (engine, worker, api) -> listen. */
async function main(): Promise<void> {
  const config = loadConfig();
  // Asynchronous stdout: a log line never blocks a request on a write(2). Lines are written as
  // soon as the event loop is free, never held back for a fuller buffer (a supervisor or a test
  // waiting for "Herald listening" must see it at once); what is pending is flushed at exit.
  const destination = pino.destination({ dest: 1, sync: false });
  process.once('exit', () => { try { destination.flushSync(); } catch { /* stdout already gone */ } });
  const logger = pino({ level: config.logLevel }, destination);
  let db: Db;
  if (config.databaseUrl) {
    db = await openPostgres({ connectionString: config.databaseUrl, max: 16 });
    logger.info('using PostgreSQL from DATABASE_URL');
  } else {
    mkdirSync(config.dataDir, { recursive: true });
    db = await openPglite({ dataDir: config.dataDir });
    logger.info({ dataDir: config.dataDir }, 'using the embedded PGlite database');
  }
  const herald = await createHerald({
    db,
    logger,
    keys: { secret: config.secretKey, public: config.publicKey },
    workflowsDir: config.workflowsDir,
    signingPublicKey: config.signingPublicKey,
    publicUrl: config.publicUrl,
    rateLimits: { perKey: config.rateLimitPerKey, perUser: config.rateLimitPerUser },
    pollIntervalMs: config.pollIntervalMs,
    outbound: { allowPrivateNetworks: config.outboundAllowPrivateNetworks },
    channels: config.channels,
    channelGroups: config.channelGroups,
    emailLayouts: config.emailLayouts,
  });
  for (const e of herald.workflows.errors) logger.error({ path: e.path, field: e.field }, `workflow not loaded: ${e.message}`);
  logger.info({ workflows: herald.workflows.loaded }, `loaded ${herald.workflows.loaded.length} workflow(s) from ${config.workflowsDir}`);
  if (herald.keys.generated) {
    // Printed once, on the start that generated them; later starts reuse the stored pair.
    console.log(`\nGenerated API keys (stored in the database):\n  secret key: ${herald.keys.secret}\n  public key: ${herald.keys.public}\n`);
  }
  if (config.roles.includes('worker')) {
    herald.worker.start();
    herald.background.start();
  }
  if (config.roles.includes('api')) {
    await herald.app.listen({ port: config.port, host: config.host });
    logger.info(`Herald listening on http://${config.host}:${config.port}`);
  }
  const shutdown = async () => {
    await herald.close();
    await db.close();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
