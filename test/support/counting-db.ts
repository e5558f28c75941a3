import type { Db } from '../../src/store/db.js';

/**
 * The same database, counting the statements that read the feed (`FROM messages m`: lists,
 * counts, realtime probes). Used by the realtime test and bench/sockets.ts.
 */
export function countingFeedReads(db: Db): { db: Db; reads: () => number } {
  let n = 0;
  const counted = new Proxy(db, {
    get(target, prop) {
      if (prop === 'query') {
        return (sql: string, params?: readonly unknown[]) => {
          if (sql.includes('FROM messages m')) n++;
          return target.query(sql, params);
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { db: counted, reads: () => n };
}
