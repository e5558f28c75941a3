import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';
import type { Db, Queryable } from './db.js';
import { analyzeGrownTables } from './table-stats.js';

// The one migrations/ folder at the package root serves the sources and the bundled build alike.
const MIGRATIONS_DIR = join(PACKAGE_ROOT, 'migrations');

const MIGRATION_FILE = /^\d+_.+\.sql$/;

async function migrationFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => MIGRATION_FILE.test(f)).sort();
}

export interface MigrationState {
  version: number;
  name: string;
  /** When it was applied; absent = pending. */
  appliedAt?: Date;
}

/**
 * Every migration file and whether it is applied, plus versions applied in the database that no
 * file here knows (a newer Herald ran against it). Read-only: nothing is created.
 */
export async function migrationStatus(db: Queryable, dir = MIGRATIONS_DIR): Promise<{ migrations: MigrationState[]; unknown: MigrationState[] }> {
  const files = await migrationFiles(dir);
  const [table] = await db.query<{ t: string | null }>("SELECT to_regclass('herald_migrations')::text AS t");
  const rows = table?.t
    ? await db.query<{ version: number; name: string; applied_at: Date | string }>('SELECT version, name, applied_at FROM herald_migrations ORDER BY version')
    : [];
  const applied = new Map(rows.map((r) => [r.version, r]));
  const migrations = files.map((name) => {
    const version = Number.parseInt(name, 10);
    const row = applied.get(version);
    return { version, name, appliedAt: row ? new Date(row.applied_at) : undefined };
  });
  const known = new Set(migrations.map((m) => m.version));
  const unknown = rows.filter((r) => !known.has(r.version)).map((r) => ({ version: r.version, name: r.name, appliedAt: new Date(r.applied_at) }));
  return { migrations, unknown };
}

/**
 * True when every file's version is recorded: one query, no lock, no file read, which is every
 * start of a current database. Any error (no table yet on a fresh database) means "not known
 * to be current", and the locked path below answers properly.
 */
async function allApplied(db: Queryable, files: string[]): Promise<boolean> {
  try {
    const rows = await db.query<{ version: number }>('SELECT version FROM herald_migrations');
    const applied = new Set(rows.map((r) => r.version));
    return files.every((f) => applied.has(Number.parseInt(f, 10)));
  } catch {
    return false;
  }
}

/**
 * Applies numbered plain-SQL files (`NNN_name.sql`) in order, each in its own transaction.
 * An advisory lock makes concurrent start-ups of several processes apply each file once. Tables
 * that grew since their statistics were taken are analyzed afterwards (store/table-stats.ts).
 */
export async function migrate(db: Db, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = await migrationFiles(dir);
  const applied: string[] = [];
  if (await allApplied(db, files)) {
    await analyzeGrownTables(db);
    return applied;
  }
  for (const file of files) {
    const version = Number.parseInt(file, 10);
    const sql = await readFile(join(dir, file), 'utf8');
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

/** Whether a schema exists (an environment the server has opened at least once). */
export async function schemaExists(db: Queryable, schema: string): Promise<boolean> {
  const rows = await db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  return rows.length > 0;
}
