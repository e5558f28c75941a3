/**
 * The graphile-worker baseline as its own process (as Herald's worker-only process is): runs
 * no-op jobs from `schema` until SIGTERM. Argv: connectionString schema concurrency.
 */
import { Logger, run } from 'graphile-worker';

const [connectionString, schema, concurrency] = process.argv.slice(2);
const runner = await run({
  connectionString,
  schema,
  concurrency: Number(concurrency),
  noHandleSignals: true,
  pollInterval: 1000,
  // Silent: its per-job info line would cost it more than the no-op job itself.
  logger: new Logger(() => () => {}),
  taskList: { noop: async () => {} },
});
process.once('SIGTERM', () => { void runner.stop().finally(() => process.exit(0)); });
