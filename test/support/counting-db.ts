import type { Db, QueryOptions } from '../../src/store/db.js';

type Query = (sql: string, params?: readonly unknown[], opts?: QueryOptions) => Promise<unknown[]>;

/**
 * The same database with its `query` replaced by `wrap(sql, params, opts, query)`, which may count,
 * hold or pass the statement on; every other member is the database's own.
 */
export function wrapQuery(db: Db, wrap: (sql: string, params: readonly unknown[] | undefined, opts: QueryOptions | undefined, query: Query) => Promise<unknown[]>): Db {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'query') {
        const query: Query = (sql, params, opts) => target.query(sql, params, opts);
        return (sql: string, params?: readonly unknown[], opts?: QueryOptions) => wrap(sql, params, opts, query);
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/**
 * The same database, counting the statements that read the feed (`FROM messages m`: lists,
 * counts, realtime probes). Used by the realtime test and bench/sockets.ts.
 */
export function countingFeedReads(db: Db): { db: Db; reads: () => number } {
  let n = 0;
  const counted = wrapQuery(db, (sql, params, opts, query) => {
    if (sql.includes('FROM messages m')) n++;
    return query(sql, params, opts);
  });
  return { db: counted, reads: () => n };
}
