/**
 * The dashboard's runs page with 100,000 runs in the database (issue 14): time from navigation to
 * the first run row on screen, in headless Chromium, signed in with the session cookie.
 * Baseline, same run and same browser: the same page over an EMPTY database (its empty state on
 * screen), so the ratio says what the 100,000 runs cost the page. Also the runs endpoint alone.
 *   npx tsx bench/dashboard.ts --engine postgres|pglite [--quick] [--runs N]
 * The runs are real triggers (queued, no worker running): the page lists them newest first.
 */
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_ARGS, ensureChromium } from '../test/e2e/support/chromium.js';
import { ensureDashboardBuilt } from '../scripts/build-dashboard.mjs';
import { benchArgs, sized } from './support/args.js';
import { count, openBenchDb } from './support/db.js';
import { enqueueRuns, feedStep, startHerald, type BenchHerald } from './support/herald.js';
import { defer, runBench } from './support/lifecycle.js';
import { fmt, percentile, report } from './report.js';

const { engine, quick, opt } = benchArgs(['runs']);
const RUNS = sized(opt('runs'), quick, 5_000, 100_000);
const REPEATS = quick ? 3 : 7;

/** Signs in as the dashboard does and returns the session cookie's value. */
async function signIn(h: BenchHerald): Promise<string> {
  const res = await fetch(`${h.url}/dashboard/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-herald-csrf': '1' },
    body: JSON.stringify({ token: h.herald.keys.secret }),
  });
  if (res.status !== 200) throw new Error(`sign-in answered ${res.status}: ${await res.text()}`);
  const cookie = /herald_dashboard=([^;]+)/.exec(res.headers.get('set-cookie') ?? '');
  if (!cookie) throw new Error('sign-in set no herald_dashboard cookie');
  return cookie[1];
}

/**
 * Opens /dashboard/runs `REPEATS` times, each in a fresh browser context (cold cache: assets and
 * data fetched again), and times navigation start → `selector` visible.
 */
async function timeRunsPage(browser: Browser, h: BenchHerald, selector: string): Promise<number[]> {
  const cookie = await signIn(h);
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addCookies([{ name: 'herald_dashboard', value: cookie, url: h.url, httpOnly: true, sameSite: 'Strict' }]);
    const page = await context.newPage();
    const started = performance.now();
    await page.goto(`${h.url}/dashboard/runs`, { waitUntil: 'commit' });
    await page.locator(selector).first().waitFor({ state: 'visible', timeout: 60_000 });
    times.push(performance.now() - started);
    await context.close();
  }
  return times;
}

async function timeRunsEndpoint(h: BenchHerald): Promise<number[]> {
  const cookie = await signIn(h);
  const times: number[] = [];
  for (let i = 0; i < REPEATS * 3; i++) {
    const started = performance.now();
    const res = await fetch(`${h.url}/dashboard/api/runs?page_size=50`, { headers: { cookie: `herald_dashboard=${cookie}` } });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`runs endpoint answered ${res.status}`);
    times.push(performance.now() - started);
  }
  return times;
}

const workflow = { key: 'bench', name: 'Bench', steps: [feedStep] };

runBench(async () => {
  const lookup = await ensureChromium();
  if ('skipReason' in lookup) throw new Error(`no Chromium: ${lookup.skipReason}`);
  // On a fresh clone dashboard/dist does not exist yet and the page would show only its
  // "not built" error: build it first, as `npm start` does.
  await ensureDashboardBuilt();
  const browser = await chromium.launch({ executablePath: lookup.executablePath, headless: true, args: CHROMIUM_ARGS });
  defer(() => browser.close());

  // Baseline: the same page over an empty database.
  const empty = await startHerald((await openBenchDb(engine)).db, [workflow], { listen: true });
  const emptyTimes = await timeRunsPage(browser, empty, 'text=No runs yet');

  const fullDb = (await openBenchDb(engine)).db;
  const full = await startHerald(fullDb, [workflow], { listen: true });
  const loadStarted = performance.now();
  await enqueueRuns(full.herald, 'bench', RUNS);
  const loadMs = performance.now() - loadStarted;
  const stored = await count(fullDb, 'SELECT count(*)::int AS n FROM recipient_runs');
  if (stored !== RUNS) throw new Error(`expected ${RUNS} runs in the database, found ${stored}`);
  const endpoint = await timeRunsEndpoint(full);
  const fullTimes = await timeRunsPage(browser, full, 'tr[data-run-id]');

  const median = (xs: number[]) => percentile(xs, 0.5);
  console.log(`${engine}: ${fmt(RUNS)} runs created in ${fmt(loadMs / 1000, 1)} s`);
  console.log(`runs page, first row: first visit ${fmt(fullTimes[0])} ms, median ${fmt(median(fullTimes))} ms, max ${fmt(Math.max(...fullTimes))} ms`);
  console.log(`runs page, empty database: median ${fmt(median(emptyTimes))} ms; /dashboard/api/runs alone: median ${fmt(median(endpoint), 1)} ms, p90 ${fmt(percentile(endpoint, 0.9), 1)} ms`);
  report({
    target: 'dashboard-runs',
    engine,
    figure: `${fmt(RUNS)} runs: first row in ${fmt(median(fullTimes))} ms (median of ${REPEATS} cold visits; API ${fmt(median(endpoint), 1)} ms)`,
    baseline: `empty database: ${fmt(median(emptyTimes))} ms`,
    ratio: median(emptyTimes) / median(fullTimes),
    goal: 'first row within 1 s, ratio ≥ 0.8',
    met: median(fullTimes) <= 1000 && median(emptyTimes) / median(fullTimes) >= 0.8,
    extra: { runs: RUNS, fullTimes, emptyTimes, endpoint },
  });
});
