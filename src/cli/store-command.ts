import type { Command } from 'commander';
import { loadConfig, type HeraldConfig } from '../config.js';
import { DataDirInUse } from './data-dir-lock.js';
import { CliError } from './errors.js';
import { openStore, type OpenStore } from './open-store.js';

/** The options every command that opens the database takes (env and herald.config.json apply too). */
export function withStoreOptions(cmd: Command): Command {
  return cmd
    .option('--database-url <url>', 'PostgreSQL connection string (env DATABASE_URL; default: embedded PGlite)')
    .option('--data-dir <dir>', 'PGlite data directory (env HERALD_DATA_DIR; default .herald/data)')
    .option('--config <file>', 'JSON config file (env HERALD_CONFIG; default herald.config.json when present)');
}

/** Settings from flags > env > config file > defaults, as the server reads them. */
export function configFrom(opts: Record<string, unknown>, extra: string[] = []): HeraldConfig {
  const argv: string[] = [...extra];
  if (typeof opts.databaseUrl === 'string') argv.push('--database-url', opts.databaseUrl);
  if (typeof opts.dataDir === 'string') argv.push('--data-dir', opts.dataDir);
  if (typeof opts.config === 'string') argv.push('--config', opts.config);
  try {
    return loadConfig(argv);
  } catch (err) {
    throw new CliError(`invalid configuration: ${(err as Error).message}`);
  }
}

/** Opens the configured database for one command and closes it afterwards, whatever happens. */
export async function withStore<T>(config: HeraldConfig, fn: (store: OpenStore) => Promise<T>): Promise<T> {
  let store: OpenStore;
  try {
    // Commands run a few statements: a small pool.
    store = await openStore(config, 2);
    await store.db.query('SELECT 1');
  } catch (err) {
    if (err instanceof DataDirInUse) throw err;
    throw new CliError(`cannot open the database: ${(err as Error).message}`);
  }
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
