import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../../src/store/db.js';
import { openPglite } from '../../src/store/pglite-adapter.js';
import { openPostgres } from '../../src/store/pg-adapter.js';
import type { Engine } from './args.js';
import { defer } from './lifecycle.js';

export interface BenchDb {
  db: Db;
  engine: Engine;
  /** PostgreSQL only: the database URL (DATABASE_URL) and the bench's own schema in it. */
  baseUrl?: string;
  schema?: string;
  /** PostgreSQL only: a URL whose connections work in the bench's schema (for child processes). */
  schemaUrl?: string;
  /** PGlite only: the data directory. */
  dataDir?: string;
}

export const databaseUrl = () => process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** `url` with `-c search_path=<schema>` in its options, so any client (main.ts, pgbench) lands in the schema. */
export function withSearchPath(url: string, schema: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

/** A fresh schema (PostgreSQL) or data directory (PGlite), dropped/removed at exit. */
export async function openBenchDb(engine: Engine, opts: { max?: number } = {}): Promise<BenchDb> {
  if (engine === 'postgres') {
    const baseUrl = databaseUrl();
    const schema = `herald_bench_${randomUUID().slice(0, 8)}`;
    const db = await openPostgres({ connectionString: baseUrl, schema, max: opts.max ?? 20 });
    defer(async () => { await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`); await db.close(); });
    return { db, engine, baseUrl, schema, schemaUrl: withSearchPath(baseUrl, schema) };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
  defer(() => rmSync(dataDir, { recursive: true, force: true }));
  const db = await openPglite({ dataDir });
  defer(() => db.close());
  return { db, engine, dataDir };
}

export async function count(db: Db, sql: string, params: unknown[] = []): Promise<number> {
  return (await db.query<{ n: number }>(sql, params))[0].n;
}
