/**
 * Herald benchmarks. Each figure is printed next to a baseline measured in the same run on the
 * same database, so the ratio is meaningful on a noisy shared machine:
 *  1. trigger: durable HTTP triggers/s through Fastify vs. the DB-only floor of one
 *     transaction inserting the same two rows (trigger + run) per request;
 *  2. worker: runs advanced/s (claim, render, message + events, checkpoint) vs. a bare
 *     SKIP LOCKED claim+delete loop over as many no-op jobs;
 *  3. cancel: latency of a synchronous cancel of 1,000 paused runs vs. one small trigger;
 *  4. race: trigger-then-immediate-cancel pairs while the worker runs; any message sent for a
 *     run the cancel reported as cancelled is a violation (and fails the benchmark).
 * Usage: npm run bench [-- --engine pglite|postgres] [--seconds 5]
 */
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createHerald } from '../src/herald.js';
import { ManualClock } from '../src/domain/clock.js';
import type { Db } from '../src/store/db.js';
import { openPglite } from '../src/store/pglite-adapter.js';
import { openPostgres } from '../src/store/pg-adapter.js';
import { writeWorkflowsDir } from '../test/support/harness.js';

const { values } = parseArgs({ options: { engine: { type: 'string' }, seconds: { type: 'string' } } });
const engine = values.engine ?? (process.env.DATABASE_URL ? 'postgres' : 'pglite');
const seconds = Number(values.seconds ?? 5);
const CONCURRENCY = 16;

const hello = { key: 'hello', name: 'Hello', steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hi **{{ recipient.id }}**' } }] };
const later = { key: 'later', name: 'Later', steps: [{ ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'hours', value: 1 } } }, hello.steps[0]] };

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0; };
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function timedLoops(fn: () => Promise<void>): Promise<{ perSec: number; p50: number; p99: number }> {
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < end) { const t0 = performance.now(); await fn(); lat.push(performance.now() - t0); }
  }));
  return { perSec: lat.length / seconds, p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
}

/** The HTTP load comes from a separate process, so client and server each get a core. */
function loadFromChildProcess(target: string, key: string, body: string): Promise<{ perSec: number; p50: number; p99: number; failures: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./load-client.ts', import.meta.url)), target, key, body, String(CONCURRENCY), String(seconds)]);
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => process.stderr.write(d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`load client exited ${code}`))));
  });
}

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

async function main() {
  const { db, cleanup } = await openDb();
  const clock = new ManualClock(new Date());
  const herald = await createHerald({ db, clock, logger: pino({ level: 'silent' }), workflowsDir: writeWorkflowsDir([hello, later]) });
  await herald.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = herald.app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  console.log(`Herald benchmarks on ${engine}, ${CONCURRENCY} concurrent clients, ${seconds} s windows\n`);

  // 1. Durable triggers through HTTP vs. the DB-only floor for the same rows.
  await db.exec('CREATE TABLE bench_floor_t (id uuid primary key, data jsonb, at timestamptz); CREATE TABLE bench_floor_r (id uuid primary key, t uuid, status text, wake_at timestamptz)');
  const floor = await timedLoops(async () => {
    await db.transaction(async (tx) => {
      const id = randomUUID();
      await tx.query('INSERT INTO bench_floor_t VALUES ($1, $2, $3)', [id, '{"n":1}', new Date()]);
      await tx.query(`INSERT INTO bench_floor_r VALUES ($1, $2, 'queued', $3)`, [randomUUID(), id, new Date()]);
    });
  });
  const body = JSON.stringify({ recipients: ['ada'], data: { n: 1 } });
  const trig = await loadFromChildProcess(`${url}/v1/workflows/hello/trigger`, herald.keys.secret, body);
  if (trig.failures > 0) throw new Error(`${trig.failures} triggers failed`);
  console.log(`trigger   Herald HTTP ${fmt(trig.perSec)} triggers/s (p50 ${trig.p50.toFixed(1)} ms, p99 ${trig.p99.toFixed(1)} ms)`);
  console.log(`          baseline DB-only 2-row transaction ${fmt(floor.perSec)}/s (p50 ${floor.p50.toFixed(1)} ms)  ratio ${(trig.perSec / floor.perSec).toFixed(2)}`);

  // 2. Worker throughput over the runs the trigger phase queued, vs. a bare SKIP LOCKED loop.
  const [{ n: queued }] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM recipient_runs WHERE status = 'queued'`);
  let t0 = performance.now();
  const advanced = await herald.worker.drain();
  const workerSecs = (performance.now() - t0) / 1000;
  await db.exec(`CREATE TABLE bench_jobs (id bigserial primary key, run_at timestamptz, locked_at timestamptz)`);
  await db.query(`INSERT INTO bench_jobs (run_at) SELECT now() FROM generate_series(1, $1::int)`, [advanced]);
  t0 = performance.now();
  for (;;) {
    const rows = await db.query<{ id: number }>(`UPDATE bench_jobs SET locked_at = now() WHERE id IN (SELECT id FROM bench_jobs WHERE locked_at IS NULL AND run_at <= now() ORDER BY run_at LIMIT 50 FOR UPDATE SKIP LOCKED) RETURNING id`);
    if (rows.length === 0) break;
    await db.query('DELETE FROM bench_jobs WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
  }
  const bareSecs = (performance.now() - t0) / 1000;
  console.log(`worker    ${fmt(advanced / workerSecs)} runs/s advanced to a delivered in-app message (${advanced} of ${queued} queued, ${workerSecs.toFixed(2)} s)`);
  console.log(`          baseline bare SKIP LOCKED claim+delete, batch 50: ${fmt(advanced / bareSecs)} jobs/s  ratio ${((advanced / workerSecs) / (advanced / bareSecs)).toFixed(2)}`);

  // 3. Cancel 1,000 paused runs in one synchronous call.
  const recipients = Array.from({ length: 1000 }, (_, i) => `u${i}`);
  await herald.engine.trigger('later', { recipients, cancellation_key: 'bench' }, {});
  await herald.worker.drain();
  t0 = performance.now();
  const cancelled = (await herald.engine.cancel('later', { cancellation_key: 'bench' })).cancelled;
  const cancelMs = performance.now() - t0;
  t0 = performance.now();
  await herald.engine.trigger('later', { recipients: recipients.slice(0, 1), cancellation_key: 'bench-1' }, {});
  const oneTriggerMs = performance.now() - t0;
  console.log(`cancel    ${cancelled} paused runs cancelled synchronously in ${cancelMs.toFixed(1)} ms`);
  console.log(`          baseline one single-recipient trigger ${oneTriggerMs.toFixed(1)} ms  ratio ${(cancelMs / oneTriggerMs).toFixed(1)}`);

  // 4. Cancel racing a running worker: trigger, then cancel at once, while the worker runs.
  //    A cancel that reports a run cancelled must leave that run without a message.
  const realClockHerald = herald.worker;
  clock.set(new Date());
  realClockHerald.start();
  let cancelledRuns = 0;
  let violations = 0;
  const RACES = 300;
  for (let i = 0; i < RACES; i++) {
    const key = `race-${i}`;
    await herald.engine.trigger('hello', { recipients: [`racer-${i}`], cancellation_key: key }, {});
    const n = (await herald.engine.cancel('hello', { cancellation_key: key })).cancelled;
    cancelledRuns += n;
    if (n > 0) {
      await new Promise((r) => setTimeout(r, 2));
      const [{ c }] = await db.query<{ c: number }>('SELECT count(*)::int AS c FROM messages WHERE recipient_id = $1', [`racer-${i}`]);
      violations += c;
    }
  }
  await realClockHerald.stop();
  console.log(`race      ${RACES} trigger-then-immediate-cancel pairs with the worker running: ${cancelledRuns} runs cancelled, ${violations} messages sent after a cancel`);
  console.log(`          (a correctness figure, not a speed one: Knock documents that a cancel within ~5 s of its trigger may be overtaken)`);
  if (violations > 0) process.exitCode = 1;

  await herald.close();
  await cleanup();
}

main().catch((err) => { console.error(err); process.exit(1); });
