/**
 * Two Herald processes on ONE database, for what must hold across processes: rate limits
 * counted in the database, and messages committed by one process's worker reaching sockets
 * and streams served by another. On PostgreSQL the two have separate pools (as separate
 * processes would); PGlite is single-connection and embedded, so they share its Db object.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import Knock from '@knocklabs/node';
import type { ManualClock } from '../../src/domain/clock.js';
import { createHerald, type Herald, type HeraldOptions } from '../../src/herald.js';
import type { Db } from '../../src/store/db.js';
import { openPostgres } from '../../src/store/pg-adapter.js';
import { drainAll, openTestDb, writeWorkflowsDir, type EngineName } from './harness.js';

export interface SharedDb {
  /** One connection (pool) per Herald. */
  dbs: [Db, Db];
  close(): Promise<void>;
}

export async function openSharedDb(engine: EngineName): Promise<SharedDb> {
  if (engine === 'pglite') {
    const db = await openTestDb('pglite');
    return { dbs: [db, db], close: () => db.close() };
  }
  const schema = `herald_t_${randomBytes(6).toString('hex')}`;
  const open = () => openPostgres({ connectionString: process.env.DATABASE_URL!, schema, max: 5 });
  const a = await open();
  const b = await open();
  return {
    dbs: [a, b],
    async close() {
      await b.close();
      await a.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await a.close();
    },
  };
}

export interface RunningHerald {
  herald: Herald;
  url: string;
  knock: Knock;
  publicKey: string;
  secretKey: string;
  drain(): Promise<number>;
  close(): Promise<void>;
}

export interface HeraldOnOptions extends Partial<Pick<HeraldOptions, 'signingPublicKey' | 'rateLimits'>> {
  clock: ManualClock;
  workflows?: Record<string, unknown>[];
}

/** A Herald on `db`, listening on a loopback port; its worker runs only when drained. */
export async function startHeraldOn(db: Db, opts: HeraldOnOptions): Promise<RunningHerald> {
  const herald = await createHerald({
    db,
    clock: opts.clock,
    logger: pino({ level: process.env.HERALD_TEST_LOG ?? 'silent' }),
    workflowsDir: opts.workflows ? writeWorkflowsDir(opts.workflows) : undefined,
    signingPublicKey: opts.signingPublicKey,
    rateLimits: opts.rateLimits,
  });
  await herald.app.listen({ port: 0, host: '127.0.0.1' });
  const address = herald.app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    herald,
    url,
    knock: new Knock({ apiKey: herald.keys.secret, baseURL: url, maxRetries: 0 }),
    publicKey: herald.keys.public,
    secretKey: herald.keys.secret,
    drain: () => drainAll(herald),
    close: () => herald.close(),
  };
}
