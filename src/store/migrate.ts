import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.js';
import { analyzeGrownTables } from './table-stats.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

/**
 * Applies numbered plain-SQL files (`NNN_name.sql`) in order, each in its own transaction.
 * An advisory lock makes concurrent start-ups of several processes apply each file once. Tables
 * that grew since their statistics were taken are analyzed afterwards (store/table-stats.ts).
 */
export async function migrate(db: Db, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  const applied: string[] = [];
  for (const file of files) {
    const version = Number.parseInt(file, 10);
    const sql = await readFile(dir + file, 'utf8');
    const done = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(7243100)');
      await tx.exec(`CREATE TABLE IF NOT EXISTS herald_migrations (
        version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      const seen = await tx.query('SELECT 1 FROM herald_migrations WHERE version = $1', [version]);
      if (seen.length > 0) return false;
      await tx.exec(sql);
      await tx.query('INSERT INTO herald_migrations (version, name) VALUES ($1, $2)', [version, file]);
      return true;
    });
    if (done) applied.push(file);
  }
  // A database restored or grown while no process ran gets current statistics before any plan.
  await analyzeGrownTables(db);
  return applied;
}
