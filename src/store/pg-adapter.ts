import { createHash } from 'node:crypto';
import pg from 'pg';
import { checkSchemaName, CommitOutcomeUnknown, type Db, type Queryable } from './db.js';

// Keep bigint/numeric as JS numbers where safe: counts come back as int8.
pg.types.setTypeParser(20, (v) => Number(v));

export interface PgOptions {
  connectionString: string;
  /** Schema to work in (tests use one schema per test file). */
  schema?: string;
  max?: number;
}

/** Real PostgreSQL through a node-postgres pool; a dedicated client carries LISTEN. */
export async function openPostgres(opts: PgOptions): Promise<Db> {
  const schema = opts.schema;
  const { connectionString, options } = schemaConnection(opts.connectionString, schema);
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    // Names the connections in pg_stat_activity (per schema, so tests can tell theirs apart).
    application_name: schema ?? 'herald',
    options,
  });
  // A dropped idle connection (database restart) must not crash the process.
  pool.on('error', () => {});
  if (schema) {
    const c = await pool.connect();
    try { await c.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`); } finally { c.release(); }
  }
  // The schema statements really run in (a search_path in the connection string counts): the
  // other environments' schemas are named after it (environments/names.ts).
  const effectiveSchema = schema ?? (await pool.query<{ s: string | null }>('SELECT current_schema() AS s')).rows[0]?.s ?? 'public';

  const prefix = schema ? `${schema}_` : '';
  const channelName = (channel: string) => `${prefix}${channel}`.slice(0, 63);
  const asQueryable = (c: pg.Pool | pg.PoolClient): Queryable => ({
    async query(sql, params, queryOpts) {
      // A hot statement is parsed and planned once per connection (node-postgres remembers
      // which named statements each connection has prepared).
      const config = queryOpts?.prepare ? { name: statementName(sql), text: sql, values: params as unknown[] | undefined } : { text: sql, values: params as unknown[] | undefined };
      try {
        return (await c.query(config)).rows;
      } catch (err) {
        if (queryOpts?.commits && isConnectionLoss(err)) throw new CommitOutcomeUnknown(err);
        throw err;
      }
    },
    async exec(sql) { await c.query(sql); },
  });
  const root = asQueryable(pool);

  const listeners = new Map<string, Set<(p: string) => void>>();
  let listenClient: pg.Client | null = null;
  let closed = false;
  let connecting: Promise<void> | null = null;

  async function ensureListenClient(): Promise<void> {
    if (listenClient || closed) return;
    if (connecting) return connecting;
    connecting = (async () => {
      const client = new pg.Client({ connectionString: opts.connectionString, application_name: `${schema ?? 'herald'}-listen` });
      client.on('notification', (msg) => {
        for (const cb of listeners.get(msg.channel) ?? []) cb(msg.payload ?? '');
      });
      const reconnect = () => {
        if (listenClient !== client) return;
        listenClient = null;
        client.end().catch(() => {});
        // LISTEN only shortens latency; polling keeps working while we reconnect.
        if (!closed) setTimeout(() => { ensureListenClient().catch(() => {}); }, 1000).unref();
      };
      client.on('error', reconnect);
      client.on('end', reconnect);
      await client.connect();
      for (const ch of listeners.keys()) await client.query(`LISTEN "${ch}"`);
      listenClient = client;
    })().finally(() => { connecting = null; });
    return connecting;
  }

  return {
    engine: 'postgres',
    schema: effectiveSchema,
    query: root.query,
    exec: root.exec,
    async transaction(fn) {
      const client = await pool.connect();
      // A checked-out client has no pool error listener: a connection killed between two
      // statements (database restart) would be an uncaught 'error'. The next statement fails
      // anyway, and the broken client is destroyed on release instead of going back to the pool.
      let broken: Error | undefined;
      const onError = (err: Error) => { broken = err; };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn(asQueryable(client));
        try {
          await client.query('COMMIT');
        } catch (err) {
          // No answer to COMMIT (connection gone, backend terminated): committed or not, unknown.
          if (isConnectionLoss(err)) { broken = err as Error; throw new CommitOutcomeUnknown(err); }
          throw err;
        }
        return result;
      } catch (err) {
        if (err instanceof CommitOutcomeUnknown) throw err;
        await client.query('ROLLBACK').catch(() => {});
        broken ??= err instanceof Error && /terminat|ECONNRESET|Connection/i.test(err.message) ? err : undefined;
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    channelName,
    async listen(channel, onNotify) {
      const name = channelName(channel);
      let set = listeners.get(name);
      const first = !set;
      if (!set) { set = new Set(); listeners.set(name, set); }
      set.add(onNotify);
      try {
        await ensureListenClient();
        if (first && listenClient) await listenClient.query(`LISTEN "${name}"`);
      } catch {
        // Not fatal: the poller still finds the work.
      }
      return async () => { set!.delete(onNotify); };
    },
    async notify(channel, payload = '') {
      await pool.query('SELECT pg_notify($1, $2)', [channelName(channel), payload]);
    },
    // Its own pool and LISTEN connection, connections opened on demand (an idle environment holds few).
    openSchema: (other) => openPostgres({ ...opts, schema: checkSchemaName(other) }),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, max: pool.options.max ?? 10, waiting: pool.waitingCount }),
    async close() {
      closed = true;
      const c = listenClient;
      listenClient = null;
      if (c) await c.end().catch(() => {});
      await pool.end();
    },
  };
}

/**
 * The connection string and server options of a pool working in `schema`. An `options` in the
 * connection string (`?options=-c search_path=…`) would win over the pool's own, and an
 * environment's pool must never run in another environment's schema: its search_path setting is
 * taken out of the string and ours put in its place; its other settings are kept.
 */
function schemaConnection(connectionString: string, schema: string | undefined): { connectionString: string; options: string | undefined } {
  if (!schema) return { connectionString, options: undefined };
  const ours = `-c search_path=${schema}`;
  let url: URL;
  try { url = new URL(connectionString); } catch { return { connectionString, options: ours }; }
  const theirs = url.searchParams.get('options');
  if (theirs === null) return { connectionString, options: ours };
  url.searchParams.delete('options');
  const kept = theirs.replace(/(?:-c\s*|--)search_path=\S*/g, '').trim();
  return { connectionString: url.toString(), options: kept ? `${kept} ${ours}` : ours };
}

/**
 * The name of a prepared statement: derived from its text, so one text is one statement on every
 * connection and two texts never collide. Only statements marked `prepare` get one, a fixed set
 * in the code, so the per-connection cache stays small.
 */
const statementNames = new Map<string, string>();
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (!name) {
    name = `h_${createHash('sha1').update(sql).digest('hex').slice(0, 24)}`;
    statementNames.set(sql, name);
  }
  return name;
}

/**
 * The server did not answer: a client-side connection error (no SQLSTATE), a connection
 * exception (class 08) or an operator intervention such as pg_terminate_backend (57P01–57P05).
 * An error the server answered with otherwise (a deferred constraint, a serialization failure)
 * means the transaction rolled back.
 */
function isConnectionLoss(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return code.startsWith('08') || /^57P0[1-5]$/.test(code);
}
