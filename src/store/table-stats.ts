/*
 * Keeps the planner's statistics current as Herald's tables grow, without relying on autovacuum
 * (it may be off, as on the development machines, and PGlite has none).
 *
 * Why it matters: the planner sizes a table from its statistics, and a plan cached for a
 * connection's life (prepared statements, foreign-key checks) keeps whatever it chose when the
 * table was empty — a sequential scan that then grows with the table. ANALYZE refreshes the
 * statistics and invalidates the cached plans that read the table, so they are planned again.
 *
 * A table is analyzed when its file has grown by more than a quarter (and 8 pages) since its
 * statistics were taken: geometric, so a table of N pages is analyzed O(log N) times. The size
 * comes from the file (pg_relation_size), not from pg_stat counters, which PGlite does not flush.
 */
import type { Db, Queryable } from './db.js';

/** Tables whose file grew past this since their last ANALYZE are analyzed again. */
const GROWTH_FACTOR = 1.25;
const GROWTH_PAGES = 8;
/** Lets one process at a time do the analyzing; the others skip the round. */
const ANALYZE_LOCK = 7243101;

export interface StaleTable { name: string; pages: number; analyzedPages: number }

/** Tables of the current schema whose statistics describe a much smaller table than today's. */
export async function staleTables(q: Queryable): Promise<StaleTable[]> {
  return q.query<StaleTable>(
    `SELECT c.relname AS name, s.pages, c.relpages AS "analyzedPages"
       FROM pg_class c
       CROSS JOIN LATERAL (SELECT (pg_relation_size(c.oid) / current_setting('block_size')::int)::int AS pages) s
      WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
        AND s.pages > GREATEST(c.relpages, 0) * $1::float8 + $2::int
      ORDER BY c.relname`,
    [GROWTH_FACTOR, GROWTH_PAGES],
  );
}

/**
 * ANALYZEs the tables that grew; returns their names. One process at a time (a transaction-level
 * advisory lock; ANALYZE does not block reads or writes).
 */
export async function analyzeGrownTables(db: Db): Promise<string[]> {
  return db.transaction(async (tx) => {
    const [{ locked }] = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [ANALYZE_LOCK]);
    if (!locked) return [];
    const stale = await staleTables(tx);
    for (const t of stale) await tx.exec(`ANALYZE "${t.name.replaceAll('"', '""')}"`);
    return stale.map((t) => t.name);
  });
}
