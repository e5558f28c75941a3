/**
 * Issue 12, target 4 — timers, on the real clock with the worker running:
 *  (a) delay lateness: N runs (10,000) of a workflow whose first step is a 3 s delay, triggered in
 *      10 groups over ~1 s, so all become due within about one second. Figure: the `late_ms`
 *      Herald records on each delay step's step_completed run event, p50/p99. Goal p99 ≤ 50 ms.
 *  (b) batch flush lateness: 1,000 batch windows (one per recipient) opened by one trigger of
 *      1,000 recipients and joined by a second, closing together; figure: flushed_at − closes_at,
 *      p50/p99, plus the exactness check (1,000 flushes, 1,000 messages, 2,000 activities).
 *      Goal p99 ≤ 1 s.
 * Baseline, same run: the same timer pattern on Node's setTimeout (p99); ratio = baseline p99 ÷
 * Herald p99 (higher is better, so it is small even when the goal is met).
 * Usage: npm run bench:timers [-- --engine pglite|postgres] [--quick] [--runs 10000] [--windows 1000]
 */
import { report, fmt, percentile } from './report.js';
import { benchArgs, sized } from './support/args.js';
import { count, openBenchDb } from './support/db.js';
import { feedStep, startHerald } from './support/herald.js';
import { runBench, sleep } from './support/lifecycle.js';
import { setTimeoutLateness } from './support/timer-baseline.js';

const { engine, quick, opt } = benchArgs(['runs', 'windows']);
const RUNS = sized(opt('runs'), quick, 1_000, 10_000);
const WINDOWS = sized(opt('windows'), quick, 200, 1_000);
const GROUPS = 10;
const DELAY_S = 3;
// Both triggers' runs must join before the windows close (a run that joins after its window
// closed opens a new batch): PGlite advances runs several times slower, so its windows are longer.
const WINDOW_S = (quick ? 5 : 10) * (engine === 'pglite' ? 3 : 1);
const TIMEOUT_MS = quick ? 60_000 : 240_000;

const delayed = { key: 'delayed', name: 'Delayed', steps: [{ ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'seconds', value: DELAY_S } } }, feedStep] };
const digest = { key: 'digest', name: 'Digest', steps: [{ ref: 'collect', type: 'batch', settings: { batch_window: { unit: 'seconds', value: WINDOW_S } } }, { ...feedStep, template: { markdown_body: '{{ total_activities }} new' } }] };

/** Waits until `sql` counts 0 or the phase times out; returns how many were left. */
async function settle(db: Parameters<typeof count>[0], sql: string, params: unknown[] = []): Promise<number> {
  const deadline = performance.now() + TIMEOUT_MS;
  for (;;) {
    const left = await count(db, sql, params);
    if (left === 0 || performance.now() > deadline) return left;
    await sleep(250);
  }
}

runBench(async () => {
  const { db } = await openBenchDb(engine, { max: 20 });
  const { herald } = await startHerald(db, [delayed, digest]);

  // (a) delays. Baseline first, alone, so it measures Node's timers and not Herald's load.
  const per = Math.ceil(RUNS / GROUPS);
  const base = await setTimeoutLateness(GROUPS, per, 1000 / GROUPS, DELAY_S * 1000);
  herald.worker.start();
  herald.background.start();
  const t0 = performance.now();
  const triggered: Promise<unknown>[] = [];
  for (let g = 0; g < GROUPS; g++) {
    const wait = t0 + g * (1000 / GROUPS) - performance.now();
    if (wait > 0) await sleep(wait);
    const recipients = Array.from({ length: Math.min(per, RUNS - g * per) }, (_, i) => `d${g * per + i}`);
    triggered.push(herald.engine.trigger('delayed', { recipients }, {}));
  }
  await Promise.all(triggered);
  const triggerSecs = (performance.now() - t0) / 1000;
  const left = await settle(db, `SELECT count(*)::int AS n FROM recipient_runs WHERE workflow_key = 'delayed' AND status <> 'completed'`);
  const late = (await db.query<{ late: number }>(
    `SELECT (data->>'late_ms')::float8 AS late FROM run_event_list WHERE event = 'step_completed' AND step_ref = 'wait' AND data ? 'late_ms'`,
  )).map((r) => r.late);
  const p50 = percentile(late, 0.5);
  const p99 = percentile(late, 0.99);
  const unfinished = left > 0 || late.length < RUNS ? ` — only ${fmt(late.length)} of ${fmt(RUNS)} delays ended within ${TIMEOUT_MS / 1000} s` : '';
  report({
    target: 'timers-delay',
    engine,
    figure: `late_ms p50 ${fmt(p50)} ms, p99 ${fmt(p99)} ms (${fmt(RUNS)} × ${DELAY_S} s delays triggered over ${fmt(triggerSecs, 1)} s${unfinished})`,
    baseline: `setTimeout, same pattern: p99 ${fmt(base.p99, 1)} ms`,
    ratio: p99 > 0 ? base.p99 / p99 : null,
    goal: 'p99 ≤ 50 ms',
    met: unfinished === '' && p99 <= 50,
    extra: { runs: RUNS, delays_ended: late.length, p50_ms: p50, p99_ms: p99, max_ms: late.length ? Math.max(...late) : null, trigger_seconds: triggerSecs, baseline_p50_ms: base.p50, baseline_p99_ms: base.p99 },
  });

  // (b) batch windows closing together.
  const baseB = await setTimeoutLateness(1, WINDOWS, 0, WINDOW_S * 1000);
  const recipients = Array.from({ length: WINDOWS }, (_, i) => `b${i}`);
  await herald.engine.trigger('digest', { recipients, data: { n: 1 } }, {});
  await herald.engine.trigger('digest', { recipients, data: { n: 2 } }, {});
  // Done when every run has completed and every window has its message.
  const leftB = await settle(db, `SELECT ((SELECT count(*) FROM recipient_runs WHERE workflow_key = 'digest' AND status <> 'completed')
    + greatest(0, $1::int - (SELECT count(*) FROM messages WHERE workflow_key = 'digest')))::int AS n`, [WINDOWS]);
  const batches = await db.query<{ late_ms: number; closes_ms: number }>(
    `SELECT (EXTRACT(EPOCH FROM (flushed_at - closes_at)) * 1000)::float8 AS late_ms, (EXTRACT(EPOCH FROM closes_at) * 1000)::float8 AS closes_ms FROM batches WHERE workflow_key = 'digest' AND flushed_at IS NOT NULL`,
  );
  const messages = await count(db, `SELECT count(*)::int AS n FROM messages WHERE workflow_key = 'digest'`);
  const activities = await count(db, `SELECT COALESCE(sum(total_activities), 0)::int AS n FROM messages WHERE workflow_key = 'digest'`);
  const lateB = batches.map((b) => Math.max(0, b.late_ms));
  const closes = batches.map((b) => b.closes_ms);
  const spread = closes.length ? Math.max(...closes) - Math.min(...closes) : 0;
  const exact = batches.length === WINDOWS && messages === WINDOWS && activities === 2 * WINDOWS;
  const p99B = percentile(lateB, 0.99);
  report({
    target: 'timers-batch',
    engine,
    figure: `flush lateness p50 ${fmt(percentile(lateB, 0.5))} ms, p99 ${fmt(p99B)} ms (${fmt(batches.length)} of ${fmt(WINDOWS)} windows closing within ${fmt(spread)} ms; ${exact ? 'exact' : `NOT exact: ${messages} messages, ${activities} activities`}${leftB > 0 ? `, unfinished after ${TIMEOUT_MS / 1000} s` : ''})`,
    baseline: `setTimeout, ${fmt(WINDOWS)} timers due together: p99 ${fmt(baseB.p99, 1)} ms`,
    ratio: p99B > 0 ? baseB.p99 / p99B : null,
    goal: 'p99 ≤ 1 s, exact',
    met: exact && leftB === 0 && p99B <= 1000,
    extra: { windows: WINDOWS, flushed: batches.length, messages, activities, p50_ms: percentile(lateB, 0.5), p99_ms: p99B, closes_spread_ms: spread, baseline_p99_ms: baseB.p99 },
  });
});
