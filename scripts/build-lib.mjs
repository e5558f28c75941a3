// Compiles src/ to dist/ with tsc, bundles the entry points with esbuild, and tells whether dist/
// is missing or older than its sources.
// Plain JavaScript: it runs before anything is compiled.
import { execFileSync } from 'node:child_process';
import { existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDashboardBuilt } from './build-dashboard.mjs';
import { newestMtime } from './newest-mtime.mjs';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'dist');
// Written after a successful build: a build that failed half-way leaves dist/ stale, not "fresh".
const STAMP = join(DIST, '.built');
// What the compiled output depends on. Migrations are read from migrations/ at run time (from
// src/ and dist/ alike), so a new migration needs no rebuild.
const INPUTS = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];


/** Why dist/ must be rebuilt, or undefined when it is current. */
export function staleReason() {
  if (!existsSync(STAMP)) return 'dist/ has not been built';
  // A deployment may ship dist/ without src/: then there is nothing to compare with.
  if (!existsSync(join(ROOT, 'src'))) return undefined;
  const built = statSync(STAMP).mtimeMs;
  const changed = INPUTS.find((p) => newestMtime(join(ROOT, p)) > built);
  return changed ? `${changed} changed since the last build` : undefined;
}

/**
 * The processes Herald starts from dist/. Each is rewritten in place as one bundle of Herald's own
 * modules (packages stay external, imported from node_modules): loading ~290 small ES modules
 * cost ~0.3–0.5 s of every start-up in resolution and linking alone (measured: 1.29–1.64 s to
 * "listening" on PostgreSQL unbundled, 1.01–1.08 s bundled, at rest). Code that locates files
 * at run time does so from the package root (src/package-root.ts), not from its own module.
 */
const ENTRY_POINTS = ['main.js', 'cli/herald.js', 'templates/render-worker.js'];

async function bundleEntryPoints(dir) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new Error('esbuild is not installed (npm install without --omit=dev), so dist/ cannot be built');
  }
  await esbuild.build({
    entryPoints: ENTRY_POINTS.map((entry) => ({ in: join(dir, entry), out: entry.replace(/\.js$/, '') })),
    outdir: dir,
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
}

/**
 * A clean build into a fresh directory, swapped in only when tsc and the bundling succeed: files
 * deleted from src/ do not linger, and a failed build leaves the previous dist/ as it was.
 */
export async function build() {
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    throw new Error('TypeScript is not installed (npm install without --omit=dev), so dist/ cannot be built');
  }
  const next = join(ROOT, `dist.next-${process.pid}`);
  rmSync(next, { recursive: true, force: true });
  try {
    execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', next], { stdio: 'inherit', cwd: ROOT });
  } catch (err) {
    rmSync(next, { recursive: true, force: true });
    throw err;
  }
  try {
    await bundleEntryPoints(next);
  } catch (err) {
    rmSync(next, { recursive: true, force: true });
    throw err;
  }
  writeFileSync(join(next, '.built'), `${new Date().toISOString()}\n`);
  rmSync(DIST, { recursive: true, force: true });
  renameSync(next, DIST);
  // The dashboard's page (dashboard/dist, served at /dashboard/) is part of the build, rebuilt only
  // when its own sources changed: Vite writes dashboard/dist in place, which a running Herald
  // (or a browser test) may be serving.
  await ensureDashboardBuilt();
}

/** Builds when dist/ is missing or stale; progress goes to stderr so stdout stays the program's. */
export async function ensureBuilt() {
  const reason = staleReason();
  if (!reason) return ensureDashboardBuilt();
  process.stderr.write(`herald: building dist/ (${reason})...\n`);
  const started = Date.now();
  await build();
  process.stderr.write(`herald: built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
