/**
 * What the dashboard's browser tests share: a build of dashboard/ that is current (built here
 * when stale, as `npm start` would), a page that records every console error and uncaught
 * exception (the dashboard must have none), waits that report those errors when they time out,
 * and an accessibility check with axe-core injected into the page.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildDashboard, dashboardStaleReason } from '../../../scripts/build-dashboard.mjs';

/** How long one DOM condition may take to hold (a poll of the run page, a re-render). */
export const UI_TIMEOUT_MS = 20_000;

/** Builds dashboard/dist when it is missing or older than its sources (the global setup may have). */
export async function ensureDashboardBuild(): Promise<void> {
  const reason = dashboardStaleReason();
  if (reason === undefined) return;
  process.stderr.write(`[e2e] building the dashboard (${reason})\n`);
  await buildDashboard();
}

export interface DashboardPage {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions, in order. */
  errors: string[];
  /** Opens a dashboard path (`/runs?…`) and waits for the app to render it. */
  open(path: string): Promise<void>;
  /** Waits until `selector` matches, failing with the page's errors and its visible text. */
  waitFor(selector: string, timeout?: number): Promise<void>;
  close(): Promise<void>;
}

export async function openDashboardPage(browser: Browser, baseUrl: string, viewport = { width: 1280, height: 800 }): Promise<DashboardPage> {
  const context = await browser.newContext({ viewport, baseURL: baseUrl });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${String(err)}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    // Chromium logs every 4xx answer as "Failed to load resource". The session endpoint answers
    // 401 by design to a visitor who has not signed in (that is how the app knows to show the
    // form) and to a refused sign-in: those are answers, not errors. Any other one counts.
    if (/status of 401/.test(msg.text()) && new URL(msg.location().url || 'about:blank', baseUrl).pathname === '/dashboard/api/session') return;
    errors.push(`console: ${msg.text()} (${msg.location().url})`);
  });

  const waitFor = async (selector: string, timeout = UI_TIMEOUT_MS) => {
    try {
      await page.waitForSelector(selector, { state: 'attached', timeout });
    } catch (e) {
      const text = (await page.locator('body').innerText().catch(() => '')).slice(0, 1500);
      throw new Error(`${(e as Error).message}\nurl: ${page.url()}\npage errors: ${errors.join('\n') || 'none'}\npage text:\n${text}`);
    }
  };
  return {
    context,
    page,
    errors,
    waitFor,
    async open(path) {
      await page.goto(`${baseUrl}/dashboard${path}`);
      await waitFor('main');
    },
    close: () => context.close(),
  };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation { id: string; impact: string | null; help: string; nodes: { target: unknown[]; html: string }[] }

/**
 * Runs axe-core on the page as it is now and returns the serious and critical violations.
 * The source is evaluated through the DevTools protocol, which the page's strict CSP (no
 * inline scripts) does not apply to. The email preview's frame is sandboxed (no scripts), so
 * axe does not look inside frames.
 */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  const hasAxe = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe !== 'undefined');
  if (!hasAxe) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { iframes: false, resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target, html: n.html.slice(0, 200) })) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
