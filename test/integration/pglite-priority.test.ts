/**
 * PGlite is one session shared by the API and the background workers; the API goes first
 * (src/store/pglite-priority.ts). Each scenario holds the connection with a transaction, queues
 * work in both lanes behind it, lets go, and reads the order in which the statements ran.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { backgroundCalls, backgroundDb, inBackground } from '../../src/store/pglite-priority.js';
import { openTestDb } from '../support/harness.js';

describe('PGlite connection priority', () => {
  let db: Db;
  let order: string[];
  beforeEach(async () => {
    db = await openTestDb('pglite');
    order = [];
  });
  afterEach(async () => { await db.close(); });

  /** Holds the connection until the returned function is called. */
  async function holdConnection(): Promise<{ release(): void; done: Promise<void> }> {
    let release!: () => void;
    let started!: () => void;
    const holding = new Promise<void>((r) => { started = r; });
    const done = db.transaction(async (tx) => {
      await tx.query('SELECT 1');
      started();
      await new Promise<void>((r) => { release = r; });
    });
    await holding;
    return { release: () => release(), done };
  }

  const select = (q: Pick<Db, 'query'>, label: string) =>
    q.query<{ label: string }>('SELECT $1::text AS label', [label]).then(([row]) => { order.push(row.label); });

  it('runs a statement of the API before background statements queued earlier', async () => {
    const held = await holdConnection();
    const bg = backgroundDb(db);
    const queued = [select(bg, 'bg1'), select(bg, 'bg2'), select(bg, 'bg3'), select(db, 'api')];
    held.release();
    await Promise.all([...queued, held.done]);
    expect(order).toEqual(['api', 'bg1', 'bg2', 'bg3']);
  });

  it('gives background work a turn after eight API statements in a row', async () => {
    const held = await holdConnection();
    const queued = [select(backgroundDb(db), 'bg')];
    for (let i = 0; i < 12; i++) queued.push(select(db, `api${i}`));
    held.release();
    await Promise.all([...queued, held.done]);
    expect(order.indexOf('bg')).toBe(8);
    expect(order.filter((l) => l !== 'bg')).toEqual(Array.from({ length: 12 }, (_, i) => `api${i}`));
  });

  it('keeps the background lane through awaits and across objects a worker calls (the engine)', async () => {
    // A stand-in for the engine: it queries the plain Db after an await of its own.
    const engine = {
      async advance(label: string) {
        await new Promise((r) => setImmediate(r));
        await select(db, label);
      },
    };
    const held = await holdConnection();
    const queued = [backgroundCalls(engine).advance('worker'), inBackground(() => engine.advance('task'))];
    // Both background calls have reached the connection's queue once their await is over.
    await new Promise((r) => setImmediate(r));
    queued.push(select(db, 'api'));
    held.release();
    await Promise.all([...queued, held.done]);
    expect(order).toEqual(['api', 'worker', 'task']);
  });
});
