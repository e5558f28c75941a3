/**
 * Issue 12, target 8 — the API stays responsive while the worker is busy: a backlog of N
 * (10,000) runs is enqueued, the worker starts on it, and single-recipient triggers come over
 * HTTP from 16 keep-alive connections (a separate process) during the backlog; trigger p99.
 * The figure only counts if the backlog lasted the whole window (checked, shown).
 * Baseline, same run: the same triggers with the worker stopped (the backlog waiting).
 * The target is PGlite's (one connection shared by API and worker); on PostgreSQL the same figure
 * is reported as well. Goal: p99 ≤ 100 ms.
 * Usage: npm run bench:pglite-responsiveness [-- --engine pglite|postgres] [--quick] [--backlog 10000] [--seconds 8] [--connections 16]
 */
import { report, fmt } from './report.js';
import { benchArgs, sized } from './support/args.js';
import { count, openBenchDb } from './support/db.js';
import { enqueueRuns, feedStep, startHerald } from './support/herald.js';
import { BENCH_RATE_LIMITS, httpLoad } from './support/http-load.js';
import { runBench, until } from './support/lifecycle.js';

const { engine, quick, opt } = benchArgs(['backlog', 'seconds', 'connections']);
const BACKLOG = sized(opt('backlog'), quick, 2_000, 10_000);
const SECONDS = sized(opt('seconds'), quick, 3, 8);
const CONNECTIONS = sized(opt('connections'), quick, 16, 16);

runBench(async () => {
  const { db } = await openBenchDb(engine, { max: 20 });
  const { herald, url } = await startHerald(db, [{ key: 'hello', name: 'Hello', steps: [feedStep] }], { listen: true, rateLimits: BENCH_RATE_LIMITS });
  const trigger = (seconds: number) => httpLoad(`${url}/v1/workflows/hello/trigger`, herald.keys.secret, JSON.stringify({ recipients: ['ada'], data: { n: 1 } }), CONNECTIONS, seconds);
  const waiting = () => count(db, `SELECT count(*)::int AS n FROM recipient_runs WHERE status IN ('queued', 'processing')`);

  await enqueueRuns(herald, 'hello', BACKLOG, { prefix: 'backlog-' });
  await trigger(1); // warm-up
  const idle = await trigger(SECONDS);

  herald.worker.start();
  herald.background.start();
  // The window opens once the worker is seen working (its first claims committed), not before.
  const queued = await waiting();
  await until('the worker to start on the backlog', async () => (await waiting()) < queued, { intervalMs: 50, timeoutMs: 120_000 });
  const before = await waiting();
  const busy = await trigger(SECONDS);
  const left = await waiting();
  await herald.worker.stop();
  if (idle.failures + busy.failures > 0) throw new Error(`${idle.failures + busy.failures} triggers failed`);
  const advanced = before + busy.requests - left;
  const lasted = left > 0;
  report({
    target: 'pglite-api',
    engine,
    figure: `trigger p99 ${fmt(busy.p99, 1)} ms, p50 ${fmt(busy.p50, 1)} ms, ${fmt(busy.perSec)}/s while the worker works off a ${fmt(BACKLOG)}-run backlog (${fmt(advanced)} runs advanced meanwhile, ${lasted ? `${fmt(left)} still waiting` : 'backlog EMPTIED during the window'})`,
    baseline: `worker stopped: p99 ${fmt(idle.p99, 1)} ms, ${fmt(idle.perSec)}/s`,
    ratio: idle.p99 / busy.p99,
    goal: 'p99 ≤ 100 ms (backlog lasting)',
    met: lasted && busy.p99 <= 100,
    extra: { backlog: BACKLOG, connections: CONNECTIONS, seconds: SECONDS, p50_ms: busy.p50, p99_ms: busy.p99, per_s: busy.perSec, idle_p99_ms: idle.p99, idle_per_s: idle.perSec, advanced, left },
  });
});
