/**
 * The Db port: the only way the rest of Herald talks to SQL. Two adapters implement it
 * (node-postgres for a real server, PGlite for the embedded default) so every module of SQL
 * runs unchanged on both engines.
 */
export interface Queryable {
  /** Runs one parameterised statement and returns its rows. */
  query<T = any>(sql: string, params?: readonly unknown[], opts?: QueryOptions): Promise<T[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface QueryOptions {
  /**
   * Hot statement: prepare it once per connection and reuse it (PostgreSQL; ignored by PGlite).
   * Opt-in, because after five executions PostgreSQL may keep a generic plan made without the
   * parameter values; only mark statements whose best plan does not depend on them (lookups by
   * a key, JSON-document parameters), never a scan whose selectivity depends on a value.
   */
  prepare?: boolean;
  /**
   * The statement is a write committed on its own (autocommit): if the connection is lost while
   * it runs, it may have committed or not, so the adapter throws CommitOutcomeUnknown, as for a
   * lost COMMIT.
   */
  commits?: boolean;
}

export interface Db extends Queryable {
  readonly engine: 'pglite' | 'postgres';
  /** The schema its statements run in ('public' unless opened in another); absent on wrappers that do not say. */
  readonly schema?: string;
  /** Runs `fn` inside BEGIN/COMMIT; any throw rolls back. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Subscribes to NOTIFY on `channel`; returns an unsubscribe function. Only shortens latency. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** Sends NOTIFY; inside a transaction use `notifySql` so it fires at commit. */
  notify(channel: string, payload?: string): Promise<void>;
  /** The channel name to use in SQL `pg_notify` (namespaced per schema). */
  channelName(channel: string): string;
  /**
   * Another schema of the same database as a Db of its own (an environment's data: environments/),
   * created if missing. Closing it closes only what it opened. Absent on wrappers.
   */
  openSchema?(schema: string): Promise<Db>;
  /** Connection use right now (metrics); absent on wrappers that do not own connections. */
  poolStats?(): PoolStats;
  close(): Promise<void>;
}

/** A pool's connections: open, idle, the most it opens, and requests waiting for one. */
export interface PoolStats {
  total: number;
  idle: number;
  max: number;
  waiting: number;
}

/**
 * The connection was lost while COMMIT was in flight: the transaction may have committed or not,
 * and nobody can tell from here. Distinct from other failures, which roll back for certain.
 */
export class CommitOutcomeUnknown extends Error {
  constructor(override readonly cause: unknown) {
    super(`connection lost during COMMIT: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'CommitOutcomeUnknown';
  }
}

/** Schema names Herald creates itself: a lower-case SQL identifier, quoted safely as it is. */
export function checkSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name "${schema}"`);
  return schema;
}
