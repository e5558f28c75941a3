/**
 * Issue 12, target 5 — cancel: N (10,000) paused runs (a workflow that starts with a 1-hour delay,
 * one cancellation key; triggered and advanced to paused beforehand) cancelled by the key through
 * the HTTP API; the time from request to 204. Baseline, same run, same table and indexes: a raw
 * `UPDATE recipient_runs SET status = 'cancelled' … WHERE workflow_key = $1 AND cancellation_key
 * = $2 AND status IN (…)` of another N identical paused runs. Goal: ≤ 0.5 s (ratio = raw ÷ Herald).
 *
 * Also the cancel-race correctness check ("race"): trigger-then-immediate-cancel pairs while the
 * worker runs; a run the cancel reported cancelled must never get a message (counted after the
 * worker has finished everything). Goal: zero violations.
 * Usage: npm run bench:cancel [-- --engine pglite|postgres] [--quick] [--runs 10000] [--races 300]
 */
import { report, fmt } from './report.js';
import { benchArgs, sized } from './support/args.js';
import { count, openBenchDb } from './support/db.js';
import { enqueueRuns, feedStep, startHerald } from './support/herald.js';
import { runBench, until } from './support/lifecycle.js';

const { engine, quick, opt } = benchArgs(['runs', 'races']);
const RUNS = sized(opt('runs'), quick, 1_000, 10_000);
const RACES = sized(opt('races'), quick, 50, 300);

const hello = { key: 'hello', name: 'Hello', steps: [feedStep] };
const later = { key: 'later', name: 'Later', steps: [{ ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'hours', value: 1 } } }, feedStep] };

runBench(async () => {
  const { db } = await openBenchDb(engine, { max: 20 });
  const { herald, url } = await startHerald(db, [hello, later], { listen: true });

  // Set-up, not timed: 2 × N runs paused in their delay, under two keys.
  await enqueueRuns(herald, 'later', RUNS, { prefix: 'h', cancellationKey: 'bench-herald' });
  await enqueueRuns(herald, 'later', RUNS, { prefix: 'r', cancellationKey: 'bench-raw' });
  await herald.worker.drain();
  const paused = await count(db, `SELECT count(*)::int AS n FROM recipient_runs WHERE workflow_key = 'later' AND status = 'paused'`);
  if (paused !== 2 * RUNS) throw new Error(`expected ${2 * RUNS} paused runs, found ${paused}`);

  let t0 = performance.now();
  const res = await fetch(`${url}/v1/workflows/later/cancel`, {
    method: 'POST',
    headers: { authorization: `Bearer ${herald.keys.secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ cancellation_key: 'bench-herald' }),
  });
  await res.arrayBuffer();
  const heraldMs = performance.now() - t0;
  if (res.status !== 204) throw new Error(`cancel answered ${res.status}`);
  const cancelled = await count(db, `SELECT count(*)::int AS n FROM recipient_runs WHERE cancellation_key = 'bench-herald' AND status = 'cancelled'`);
  if (cancelled !== RUNS) throw new Error(`cancel stopped ${cancelled} of ${RUNS} runs`);

  t0 = performance.now();
  await db.query(
    `UPDATE recipient_runs SET status = 'cancelled', wake_at = NULL, updated_at = now()
      WHERE workflow_key = $1 AND cancellation_key = $2 AND status IN ('queued', 'processing', 'paused')`,
    ['later', 'bench-raw'],
  );
  const rawMs = performance.now() - t0;
  report({
    target: 'cancel',
    engine,
    figure: `${fmt(heraldMs)} ms to cancel ${fmt(RUNS)} paused runs by one key (HTTP)`,
    baseline: `raw UPDATE of ${fmt(RUNS)} identical paused runs: ${fmt(rawMs)} ms`,
    ratio: rawMs / heraldMs,
    goal: '≤ 500 ms',
    met: heraldMs <= 500,
    extra: { runs: RUNS, herald_ms: heraldMs, raw_ms: rawMs },
  });

  // Cancel racing a running worker.
  herald.worker.start();
  const cancelledRecipients: string[] = [];
  for (let i = 0; i < RACES; i++) {
    const key = `race-${i}`;
    await herald.engine.trigger('hello', { recipients: [`racer-${i}`], cancellation_key: key }, {});
    if ((await herald.engine.cancel('hello', { cancellation_key: key })).cancelled > 0) cancelledRecipients.push(`racer-${i}`);
  }
  await until('the race runs to finish', async () => (await count(db, `SELECT count(*)::int AS n FROM recipient_runs WHERE workflow_key = 'hello' AND status IN ('queued', 'processing')`)) === 0);
  await herald.worker.stop();
  const violations = await count(db, 'SELECT count(*)::int AS n FROM messages WHERE recipient_id = ANY($1::text[])', [cancelledRecipients]);
  report({
    target: 'race',
    engine,
    figure: `${RACES} trigger-then-cancel pairs with the worker running: ${cancelledRecipients.length} cancelled, ${violations} of them got a message`,
    baseline: '—',
    ratio: null,
    goal: '0 messages after a cancel',
    met: violations === 0,
    extra: { races: RACES, cancelled: cancelledRecipients.length, violations },
  });
  if (violations > 0) process.exitCode = 1;
});
