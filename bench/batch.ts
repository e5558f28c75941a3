/**
 * Batch benchmark: 100,000 triggers into 1,000 batch keys (100 activities each) must give
 * exactly 1,000 flushes and 1,000 messages. Reported: trigger throughput with the workers
 * joining batches as they go, flush lateness (from the moment a batch was due to its flush;
 * p50/p99) and the time until every message exists. Baseline from the same run and database:
 * the same number of plain single-recipient triggers of a workflow without a batch step.
 * Usage: npm run bench:batch [-- --engine pglite|postgres] [--triggers 100000] [--keys 1000]
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createHerald } from '../src/herald.js';
import type { Clock } from '../src/domain/clock.js';
import type { Db } from '../src/store/db.js';
import { openPglite } from '../src/store/pglite-adapter.js';
import { openPostgres } from '../src/store/pg-adapter.js';
import { writeWorkflowsDir } from '../test/support/harness.js';

const { values } = parseArgs({ options: { engine: { type: 'string' }, triggers: { type: 'string' }, keys: { type: 'string' } } });
const engine = values.engine ?? (process.env.DATABASE_URL ? 'postgres' : 'pglite');
const TRIGGERS = Number(values.triggers ?? 100_000);
const KEYS = Number(values.keys ?? 1000);
const CONCURRENCY = 16;
const WINDOW_MIN = 60;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0; };

const feed = { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: '{{ total_activities }} new comments' } };
const plain = { key: 'plain', name: 'Plain', steps: [feed] };
const digest = { key: 'digest', name: 'Digest', steps: [{ ref: 'collect', type: 'batch', settings: { batch_window: { unit: 'minutes', value: WINDOW_MIN }, batch_key: 'thread' } }, feed] };

async function openDb(): Promise<{ db: Db; cleanup: () => Promise<void> }> {
  if (engine === 'postgres') {
    const schema = `herald_bench_${randomUUID().slice(0, 8)}`;
    const db = await openPostgres({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', schema, max: 20 });
    return { db, cleanup: async () => { await db.exec(`DROP SCHEMA ${schema} CASCADE`); await db.close(); } };
  }
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
  const db = await openPglite({ dataDir: dir });
  return { db, cleanup: async () => { await db.close(); rmSync(dir, { recursive: true, force: true }); } };
}

/** Fires `count` triggers from CONCURRENCY loops; returns triggers/s. */
async function fire(count: number, one: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) await one(next++);
  }));
  return count / ((performance.now() - t0) / 1000);
}

async function count(db: Db, sql: string): Promise<number> {
  return (await db.query<{ n: number }>(sql))[0].n;
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 200));
}

async function main() {
  const { db, cleanup } = await openDb();
  // Real time plus an offset the benchmark moves forward to close every window at once.
  let offsetMs = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
  const herald = await createHerald({ db, clock, logger: pino({ level: 'silent' }), workflowsDir: writeWorkflowsDir([plain, digest]), pollIntervalMs: 50 });
  console.log(`Batch benchmark on ${engine}: ${fmt(TRIGGERS)} triggers into ${fmt(KEYS)} batch keys\n`);

  // Baseline: as many plain triggers (no batch), engine only, same concurrency.
  const baseline = await fire(TRIGGERS, (i) => herald.engine.trigger('plain', { recipients: [`p${i % KEYS}`] }, {}));
  await db.exec(`DELETE FROM message_events; DELETE FROM messages; DELETE FROM run_events; DELETE FROM recipient_runs; DELETE FROM workflow_triggers`);

  // Batched: the workers run while triggers arrive, so every run joins its batch as it comes.
  herald.worker.start();
  herald.background.start();
  const t0 = performance.now();
  const rate = await fire(TRIGGERS, (i) => herald.engine.trigger('digest', { recipients: ['ada'], data: { thread: `t${i % KEYS}`, n: i } }, {}));
  await until(async () => (await count(db, `SELECT count(*)::int AS n FROM recipient_runs WHERE status <> 'paused'`)) === 0);
  const joinedSecs = (performance.now() - t0) / 1000;

  // Every window ends now: measure how late each flush comes after its batch became due.
  offsetMs = (WINDOW_MIN + 1) * 60_000;
  const dueAt = clock.now();
  const t1 = performance.now();
  await until(async () => (await count(db, `SELECT count(*)::int AS n FROM messages`)) >= KEYS);
  const deliveredSecs = (performance.now() - t1) / 1000;
  await until(async () => (await count(db, `SELECT count(*)::int AS n FROM recipient_runs WHERE status <> 'completed'`)) === 0);
  await herald.close();

  const batches = await db.query<{ items: number; late_ms: number }>(
    `SELECT items, (EXTRACT(EPOCH FROM (flushed_at - GREATEST(closes_at, $1))) * 1000)::float8 AS late_ms FROM batches`, [dueAt],
  );
  const messages = await count(db, 'SELECT count(*)::int AS n FROM messages');
  const activities = await count(db, 'SELECT COALESCE(sum(total_activities), 0)::int AS n FROM messages');
  const late = batches.map((b) => b.late_ms);
  console.log(`triggers  ${fmt(rate)} batched triggers/s, workers joining batches meanwhile (all ${fmt(TRIGGERS)} runs in their batch after ${joinedSecs.toFixed(1)} s)`);
  console.log(`          baseline plain triggers (no batch step): ${fmt(baseline)}/s  ratio ${(rate / baseline).toFixed(2)}`);
  console.log(`flush     ${batches.length} batches flushed (expected ${KEYS}), ${messages} messages carrying ${fmt(activities)} activities (expected ${fmt(TRIGGERS)})`);
  console.log(`          lateness after the window closed: p50 ${pct(late, 0.5).toFixed(0)} ms, p99 ${pct(late, 0.99).toFixed(0)} ms, max ${Math.max(...late).toFixed(0)} ms; all ${KEYS} messages after ${deliveredSecs.toFixed(1)} s`);
  if (batches.length !== KEYS || messages !== KEYS || activities !== TRIGGERS) process.exitCode = 1;
  await cleanup();
}

main().catch((err) => { console.error(err); process.exit(1); });
