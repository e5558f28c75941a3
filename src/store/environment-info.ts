import type { Queryable } from './db.js';

/** When an environment's store was created: its first migration (one row per migration; tiny table). */
export async function environmentCreatedAt(db: Queryable): Promise<Date> {
  const [row] = await db.query<{ at: Date | string | null }>('SELECT min(applied_at) AS at FROM herald_migrations');
  return row?.at ? new Date(row.at) : new Date(0);
}
