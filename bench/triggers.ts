/**
 * Issue 12, target 1 — durable triggers over HTTP: a workflow with one recipient triggered from
 * 32 keep-alive connections in a separate load process; triggers/s, p50, p99.
 * Baseline, same run, same database: single-row INSERT autocommits at 32 connections — pgbench
 * (`-c 32 -j 2 -n`, custom script) on PostgreSQL, 32 concurrent in-process callers on PGlite.
 * A one-second warm-up precedes the measured window. Load: wrk when installed (a C client, like
 * pgbench on the baseline's side), else bench/load-client.ts (HERALD_BENCH_LOAD=node forces it).
 * Goal: ratio ≥ 1.0 and p99 ≤ 50 ms.
 * Usage: npm run bench:triggers [-- --engine pglite|postgres] [--quick] [--seconds 10] [--connections 32]
 */
import { randomUUID } from 'node:crypto';
import { report, fmt } from './report.js';
import { benchArgs, sized } from './support/args.js';
import { openBenchDb } from './support/db.js';
import { startHerald, feedStep } from './support/herald.js';
import { BENCH_RATE_LIMITS, httpLoad } from './support/http-load.js';
import { runBench } from './support/lifecycle.js';
import { pgbenchTps } from './support/pgbench.js';

const { engine, quick, opt } = benchArgs(['seconds', 'connections']);
const SECONDS = sized(opt('seconds'), quick, 3, 10);
const CONNECTIONS = sized(opt('connections'), quick, 32, 32);

runBench(async () => {
  const bdb = await openBenchDb(engine, { max: 20 });
  const { db } = bdb;
  const { herald, url } = await startHerald(db, [{ key: 'hello', name: 'Hello', steps: [feedStep] }], { listen: true, rateLimits: BENCH_RATE_LIMITS });

  // Baseline: one-row INSERT, autocommit, into a table with a primary key and a jsonb column.
  await db.exec('CREATE TABLE bench_raw_insert (id uuid PRIMARY KEY, data jsonb NOT NULL, at timestamptz NOT NULL)');
  let baseline: number;
  let baselineHow: string;
  if (engine === 'postgres') {
    baseline = await pgbenchTps(bdb, `INSERT INTO bench_raw_insert VALUES (gen_random_uuid(), '{"n":1}', now());\n`, CONNECTIONS, SECONDS);
    baselineHow = `pgbench INSERT, ${CONNECTIONS} conns`;
  } else {
    let done = 0;
    const end = performance.now() + SECONDS * 1000;
    await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        await db.query(`INSERT INTO bench_raw_insert VALUES ($1, '{"n":1}', now())`, [randomUUID()]);
        done++;
      }
    }));
    baseline = done / SECONDS;
    baselineHow = `in-process INSERT, ${CONNECTIONS} callers`;
  }

  const body = JSON.stringify({ recipients: ['ada'], data: { n: 1 } });
  await httpLoad(`${url}/v1/workflows/hello/trigger`, herald.keys.secret, body, CONNECTIONS, 1); // warm-up (JIT, pools)
  const load = await httpLoad(`${url}/v1/workflows/hello/trigger`, herald.keys.secret, body, CONNECTIONS, SECONDS);
  if (load.failures > 0) throw new Error(`${load.failures} of ${load.requests} triggers failed`);
  const ratio = load.perSec / baseline;
  report({
    target: 'trigger',
    engine,
    figure: `${fmt(load.perSec)} triggers/s, p50 ${fmt(load.p50, 1)} ms, p99 ${fmt(load.p99, 1)} ms (${CONNECTIONS} conns, ${load.client})`,
    baseline: `${baselineHow}: ${fmt(baseline)}/s`,
    ratio,
    goal: 'ratio ≥ 1.0, p99 ≤ 50 ms',
    met: ratio >= 1 && load.p99 <= 50,
    extra: { triggers_per_s: load.perSec, p50_ms: load.p50, p99_ms: load.p99, requests: load.requests, baseline_per_s: baseline, seconds: SECONDS, connections: CONNECTIONS, load_client: load.client },
  });
});
