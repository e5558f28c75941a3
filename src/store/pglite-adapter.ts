import { PGlite } from '@electric-sql/pglite';
import { checkSchemaName, type Db, type Queryable } from './db.js';
import { PriorityGate } from './pglite-priority.js';

export interface PgliteOptions {
  /** Directory for the database files; omitted = in memory. */
  dataDir?: string;
  /** A dump made by `dumpDataDir` to start from (tests start from a migrated template). */
  loadDataDir?: Blob | File;
  /**
   * PostgreSQL's shared_buffers (e.g. '16MB'); omitted = PGlite's 128MB. Most of an idle
   * Herald's memory on PGlite: the WASM heap grows to hold it and never shrinks.
   */
  sharedBuffers?: string;
}

/**
 * The embedded default: PGlite, Postgres compiled to WASM, running in this process. It is a
 * single session, so it serialises all statements; transactions hold it exclusively. Who goes
 * next is decided by a PriorityGate (pglite-priority.ts): API work before background work.
 */
export async function openPglite(opts: PgliteOptions = {}): Promise<Db> {
  const db = await PGlite.create({
    dataDir: opts.dataDir,
    loadDataDir: opts.loadDataDir,
    // Written to the data directory's postgresql.conf on every open (it replaces the file).
    ...(opts.sharedBuffers ? { postgresqlconf: [`shared_buffers = ${opts.sharedBuffers}`] } : {}),
  });
  return wrapPglite(db);
}

export function wrapPglite(db: PGlite): Db {
  const toQueryable = (q: Pick<PGlite, 'query' | 'exec'>): Queryable => ({
    async query(sql, params) {
      const r = await q.query(sql, params as any[] | undefined);
      return r.rows as any[];
    },
    async exec(sql) { await q.exec(sql); },
  });
  const root = toQueryable(db);
  const gate = new PriorityGate();
  // One session serves every schema (environments/): the search_path Herald last set, changed
  // only when the next statement belongs to another schema. Set outside transactions, so a
  // rollback never undoes it behind our back.
  let searchPath = 'public';
  const enter = async (schema: string) => {
    if (searchPath === schema) return;
    await db.exec(`SET search_path TO "${schema}"`);
    searchPath = schema;
  };
  const inSchema = (schema: string, prefix: string): Db => {
    const channelName = (channel: string) => `${prefix}${channel}`.slice(0, 63);
    return {
      engine: 'pglite',
      schema,
      query: (sql, params) => gate.run(async () => { await enter(schema); return root.query(sql, params); }),
      exec: (sql) => gate.run(async () => { await enter(schema); await root.exec(sql); }),
      // The gate is held for the whole transaction; its statements go straight to the session.
      transaction: (fn) => gate.run(async () => { await enter(schema); return db.transaction((tx) => fn(toQueryable(tx))); }),
      channelName,
      async listen(channel, onNotify) {
        const unsub = await db.listen(channelName(channel), onNotify);
        return async () => { await unsub(); };
      },
      async notify(channel, payload = '') {
        await gate.run(() => db.query('SELECT pg_notify($1, $2)', [channelName(channel), payload]));
      },
      // One session: busy or idle, and the statements queued for it in both lanes.
      poolStats: () => ({ total: 1, idle: gate.busy ? 0 : 1, max: 1, waiting: gate.waiting }),
      async openSchema(other) {
        const name = checkSchemaName(other);
        await gate.run(() => db.exec(`CREATE SCHEMA IF NOT EXISTS "${name}"`));
        return inSchema(name, `${name}_`);
      },
      // The session belongs to the database as a whole: only its own Db closes it.
      close: schema === 'public' ? async () => { if (!db.closed) await db.close(); } : async () => {},
    };
  };
  // Exposed for tests that snapshot a migrated database.
  return { ...inSchema('public', ''), ...({ raw: db } as object) };
}
