import type { HeraldConfig } from '../config.js';
import { environmentSchema } from '../environments/names.js';
import type { Db } from '../store/db.js';
import { migrate, schemaExists } from '../store/migrate.js';
import { CliError } from './errors.js';

/**
 * An environment's store for a CLI command: the opened store itself for the first environment,
 * else its own schema beside it (as the server lays them out: environments/names.ts), migrated.
 * `close` closes only what was opened here.
 */
export async function openEnvironmentStore(db: Db, config: HeraldConfig, slug: string, opts: { create?: boolean } = {}): Promise<{ db: Db; close(): Promise<void> } | null> {
  if (!config.environments.includes(slug)) throw new CliError(`unknown environment "${slug}": HERALD_ENVIRONMENTS lists ${config.environments.join(', ')}`);
  await migrate(db);
  if (slug === config.environments[0]) return { db, close: async () => {} };
  if (!db.openSchema) throw new CliError(`environment "${slug}" needs its own schema, and this store cannot open one`);
  const schema = environmentSchema(db.schema ?? 'public', slug);
  // Reading commands do not create an environment the server has not started yet (migrating a
  // schema takes seconds on PGlite): for them it simply has no keys.
  if (opts.create === false && !(await schemaExists(db, schema))) return null;
  const own = await db.openSchema(schema);
  await migrate(own);
  return { db: own, close: () => own.close() };
}

/** `--environment <slug>` for the key commands: one environment, or every one when absent (show only). */
export function environmentsOption(config: HeraldConfig, opts: Record<string, unknown>, all: boolean): string[] {
  const chosen = typeof opts.environment === 'string' ? opts.environment : undefined;
  if (chosen !== undefined) return [chosen];
  return all ? [...config.environments] : [config.environments[0]];
}
