/**
 * Issue 12, target 2 — run processing: N runs (50,000) of a one-step in-app workflow are enqueued
 * beforehand (triggers of 1,000 recipients, not timed); then a worker-only Herald processes them
 * to in-app messages. On PostgreSQL that is `src/main.ts` with HERALD_ROLES=worker in its own
 * process; PGlite belongs to one process, so there the worker runs in this process with no API.
 * Figure: runs/s from the first completed run to the last (polling the database).
 * Baseline, same run, same database: graphile-worker 0.17 in one process (concurrency 10) working
 * off as many no-op jobs, measured the same way (PostgreSQL); graphile-worker cannot run on
 * PGlite, so there the baseline is a bare SKIP LOCKED claim+delete loop (batches of 50).
 * Goal: ratio ≥ 1.0.
 * Usage: npm run bench:worker [-- --engine pglite|postgres] [--quick] [--runs 50000]
 */
import { randomUUID } from 'node:crypto';
import { runMigrations } from 'graphile-worker';
import { report, fmt } from './report.js';
import { benchArgs, sized } from './support/args.js';
import { count, openBenchDb } from './support/db.js';
import { enqueueRuns, feedStep, startHerald } from './support/herald.js';
import { spawnTs, stop, whileAlive } from './support/children.js';
import { defer, runBench, sleep } from './support/lifecycle.js';

const { engine, quick, opt } = benchArgs(['runs']);
const RUNS = sized(opt('runs'), quick, 2_000, 50_000);
const TIMEOUT_MS = quick ? 120_000 : 600_000;

/**
 * Polls `done()` until it reaches `total`; the rate is measured from the first poll that saw
 * progress to the one that saw the end, counting only the work done in between, so process
 * start-up is outside the figure for Herald and the baseline alike.
 */
async function rateOf(done: () => Promise<number>, total: number, what: string): Promise<{ perSec: number; seconds: number }> {
  const deadline = performance.now() + TIMEOUT_MS;
  let start: { t: number; n: number } | null = null;
  for (;;) {
    const n = await done();
    const t = performance.now();
    if (n > 0 && !start) start = { t, n };
    if (n >= total) {
      const seconds = (t - start!.t) / 1000;
      return { perSec: seconds > 0 ? (total - start!.n) / seconds : Infinity, seconds };
    }
    if (t > deadline) throw new Error(`${what}: ${n} of ${total} done after ${TIMEOUT_MS / 1000} s`);
    await sleep(100);
  }
}

runBench(async () => {
  const bdb = await openBenchDb(engine, { max: 8 });
  const { db } = bdb;
  const { herald, workflowsDir } = await startHerald(db, [{ key: 'hello', name: 'Hello', steps: [feedStep] }]);
  await enqueueRuns(herald, 'hello', RUNS);
  const finished = () => count(db, `SELECT count(*)::int AS n FROM recipient_runs WHERE status NOT IN ('queued', 'processing')`);

  let herald_: { perSec: number; seconds: number };
  let baseline: { perSec: number; seconds: number };
  let baselineHow: string;
  if (engine === 'postgres') {
    const worker = spawnTs('src/main.ts', [], {
      DATABASE_URL: bdb.schemaUrl, HERALD_ROLES: 'worker', HERALD_WORKFLOWS_DIR: workflowsDir, HERALD_LOG_LEVEL: 'warn', HERALD_CONFIG: '',
    });
    herald_ = await whileAlive(worker, rateOf(finished, RUNS, 'Herald worker'));
    await stop(worker);

    const gw = `graphile_bench_${randomUUID().slice(0, 8)}`;
    await runMigrations({ connectionString: bdb.baseUrl!, schema: gw });
    defer(() => db.exec(`DROP SCHEMA IF EXISTS ${gw} CASCADE`));
    await db.query(`SELECT count(*) FROM ${gw}.add_jobs(ARRAY(SELECT ROW('noop', '{}'::json, NULL, NULL, NULL, NULL, NULL, NULL)::${gw}.job_spec FROM generate_series(1, $1::int)))`, [RUNS]);
    const gwChild = spawnTs('bench/support/graphile-child.ts', [bdb.baseUrl!, gw, '10']);
    baseline = await whileAlive(gwChild, rateOf(async () => RUNS - await count(db, `SELECT count(*)::int AS n FROM ${gw}._private_jobs`), RUNS, 'graphile-worker'));
    await stop(gwChild);
    baselineHow = 'graphile-worker 0.17, 1 process, concurrency 10, no-op jobs';
  } else {
    herald.worker.start();
    herald.background.start();
    herald_ = await rateOf(finished, RUNS, 'Herald worker');
    await herald.worker.stop();

    await db.exec('CREATE TABLE bench_jobs (id bigserial PRIMARY KEY, run_at timestamptz NOT NULL, locked_at timestamptz)');
    await db.query('INSERT INTO bench_jobs (run_at) SELECT now() FROM generate_series(1, $1::int)', [RUNS]);
    const t0 = performance.now();
    for (;;) {
      const rows = await db.query<{ id: number }>(`UPDATE bench_jobs SET locked_at = now() WHERE id IN (SELECT id FROM bench_jobs WHERE locked_at IS NULL AND run_at <= now() ORDER BY run_at LIMIT 50 FOR UPDATE SKIP LOCKED) RETURNING id`);
      if (rows.length === 0) break;
      await db.query('DELETE FROM bench_jobs WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
    }
    const seconds = (performance.now() - t0) / 1000;
    baseline = { perSec: RUNS / seconds, seconds };
    baselineHow = 'bare SKIP LOCKED claim+delete loop, batch 50';
  }

  const completed = await count(db, `SELECT count(*)::int AS n FROM recipient_runs WHERE status = 'completed'`);
  const messages = await count(db, 'SELECT count(*)::int AS n FROM messages');
  // A run that ends without its message (a step failure) is processed but not delivered: shown, and the goal is missed.
  const short = messages < RUNS ? `, only ${fmt(messages)} messages` : '';
  const ratio = herald_.perSec / baseline.perSec;
  report({
    target: 'worker',
    engine,
    figure: `${fmt(herald_.perSec)} runs/s (${fmt(RUNS)} runs → in-app messages, worker-only process${short})`,
    baseline: `${baselineHow}: ${fmt(baseline.perSec)} jobs/s`,
    ratio,
    goal: 'ratio ≥ 1.0',
    met: ratio >= 1 && messages === RUNS && completed === RUNS,
    extra: { runs: RUNS, runs_per_s: herald_.perSec, seconds: herald_.seconds, baseline_per_s: baseline.perSec, baseline_seconds: baseline.seconds, completed, messages },
  });
});
