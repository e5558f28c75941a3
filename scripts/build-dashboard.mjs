// Builds the dashboard (dashboard/, Vite + React) into dashboard/dist/, which Herald serves at
// /dashboard/, and tells whether that build is missing or older than its sources.
// Plain JavaScript: it runs before anything is compiled (npm start, npm run build, test setup).
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newestMtime } from './newest-mtime.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const DASHBOARD_DIR = join(ROOT, 'dashboard');
export const DASHBOARD_DIST = join(DASHBOARD_DIR, 'dist');
// Written after a successful build: a build that failed half-way leaves the dist stale, not "fresh".
const STAMP = join(DASHBOARD_DIST, '.built');
// What the bundle depends on: the sources, the build's config, and the installed packages' versions.
const INPUTS = [
  join(DASHBOARD_DIR, 'src'),
  join(DASHBOARD_DIR, 'index.html'),
  join(DASHBOARD_DIR, 'vite.config.ts'),
  join(ROOT, 'package-lock.json'),
];


/** Why dashboard/dist must be (re)built, or undefined when it is current. */
export function dashboardStaleReason() {
  if (!existsSync(STAMP)) return 'dashboard/dist has not been built';
  // A deployment may ship dashboard/dist without the sources: then there is nothing to compare with.
  if (!existsSync(join(DASHBOARD_DIR, 'src'))) return undefined;
  const built = statSync(STAMP).mtimeMs;
  const changed = INPUTS.find((p) => newestMtime(p) > built);
  return changed ? `${changed.slice(ROOT.length)} changed since the last build` : undefined;
}

/**
 * Bundles the dashboard with Vite's JS API (imported here, so a production install that ships a
 * built dashboard/dist never loads Vite). Throws when the build fails.
 * `logLevel` defaults to 'warn': the build's size table is printed with 'info'.
 */
export async function buildDashboard({ logLevel = 'warn' } = {}) {
  let vite;
  try {
    vite = await import('vite');
  } catch {
    throw new Error('Vite is not installed (npm install without --omit=dev), so the dashboard cannot be built');
  }
  await vite.build({
    root: DASHBOARD_DIR,
    configFile: join(DASHBOARD_DIR, 'vite.config.ts'),
    logLevel,
  });
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
}

/** Builds when dashboard/dist is missing or stale; progress goes to stderr so stdout stays the program's. */
export async function ensureDashboardBuilt() {
  const reason = dashboardStaleReason();
  if (!reason) return;
  process.stderr.write(`herald: building the dashboard (${reason})...\n`);
  const started = Date.now();
  await buildDashboard();
  process.stderr.write(`herald: dashboard built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

// `node scripts/build-dashboard.mjs`: a build with Vite's size table.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildDashboard({ logLevel: 'info' });
}
