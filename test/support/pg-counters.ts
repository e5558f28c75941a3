import type { Db } from '../../src/store/db.js';
import { openPostgres } from '../../src/store/pg-adapter.js';

/** PostgreSQL's per-table counters (pg_stat_user_tables) that tests read. */
export interface TableCounters {
  seq_scan: number;
  n_tup_upd: number;
  n_tup_hot_upd: number;
}

/**
 * The counters of every table in `db`'s schema, as other connections left them. Those reach
 * the shared statistics once the connections have been idle a while (PostgreSQL flushes an idle
 * backend's pending counters within 10 s, PGSTAT_IDLE_INTERVAL), so this waits that long first:
 * call it with Herald idle. PostgreSQL only (PGlite does not flush them); read through a
 * connection of its own.
 */
export async function idleTableCounters(db: Db): Promise<Record<string, TableCounters>> {
  const [{ schema }] = await db.query<{ schema: string }>('SELECT current_schema() AS schema');
  await new Promise((r) => setTimeout(r, 11_000));
  const admin = await openPostgres({ connectionString: process.env.DATABASE_URL!, max: 1 });
  try {
    const rows = await admin.query<{ relname: string } & Record<keyof TableCounters, string>>(
      'SELECT relname, seq_scan, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE schemaname = $1', [schema]);
    return Object.fromEntries(rows.map((r) => [r.relname, { seq_scan: Number(r.seq_scan), n_tup_upd: Number(r.n_tup_upd), n_tup_hot_upd: Number(r.n_tup_hot_upd) }]));
  } finally {
    await admin.close();
  }
}
