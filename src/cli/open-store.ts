import { mkdirSync } from 'node:fs';
import type { HeraldConfig } from '../config.js';
import type { Db } from '../store/db.js';
import { lockDataDir } from './data-dir-lock.js';

export interface OpenStore {
  db: Db;
  /** Where the data lives, for messages (never the connection string: it may hold a password). */
  describe: string;
  close(): Promise<void>;
}

/**
 * PostgreSQL from DATABASE_URL, or the embedded PGlite directory (locked to this process). Each
 * adapter is imported when chosen: loading PGlite's module costs a PostgreSQL start time for nothing.
 */
export async function openStore(config: HeraldConfig, poolSize = 16): Promise<OpenStore> {
  if (config.databaseUrl) {
    const { openPostgres } = await import('../store/pg-adapter.js');
    const db = await openPostgres({ connectionString: config.databaseUrl, max: poolSize });
    const url = new URL(config.databaseUrl);
    return { db, describe: `PostgreSQL ${url.hostname}:${url.port || 5432}${url.pathname}`, close: () => db.close() };
  }
  const release = lockDataDir(config.dataDir);
  try {
    mkdirSync(config.dataDir, { recursive: true });
    const { openPglite } = await import('../store/pglite-adapter.js');
    const db = await openPglite({ dataDir: config.dataDir, sharedBuffers: config.pgliteSharedBuffers });
    return { db, describe: `PGlite ${config.dataDir}`, async close() { await db.close(); release(); } };
  } catch (err) {
    release();
    throw err;
  }
}
