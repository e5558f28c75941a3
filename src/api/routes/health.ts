/**
 * Probes for load balancers and orchestrators, open to anyone (they carry no key):
 * - `/healthz`: the process is alive and serving HTTP (liveness: restart it when this fails);
 * - `/readyz`: it can do its work: the database answers a cheap query, every migration this
 *   build ships is applied, and the roles the process plays are running (readiness: send it
 *   traffic only while this answers 200; 503 in Knock's error shape names what is wrong).
 */
import { HeraldError } from '../../domain/errors.js';
import { migrationStatus } from '../../store/migrate.js';
import type { ApiDeps, App } from '../types.js';

/** A readiness condition contributed by whoever runs a role (main.ts: the worker). Returns a problem, or undefined when fine. */
export type ReadinessCheck = () => string | undefined | Promise<string | undefined>;

const extraChecks = new WeakMap<object, Map<string, ReadinessCheck>>();

/** Adds (or replaces) a named readiness condition to `app`'s /readyz. */
export function addReadinessCheck(app: App, name: string, check: ReadinessCheck): void {
  let checks = extraChecks.get(app);
  if (!checks) { checks = new Map(); extraChecks.set(app, checks); }
  checks.set(name, check);
}

/** A database that does not answer in this time is not ready (a probe must not hang). */
const DB_TIMEOUT_MS = 2000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function readiness(app: App, deps: Pick<ApiDeps, 'db'>): Promise<Record<string, string>> {
  const problems: Record<string, string> = {};
  try {
    await withTimeout(deps.db.query('SELECT 1'), DB_TIMEOUT_MS, 'the database');
    const { migrations } = await withTimeout(migrationStatus(deps.db), DB_TIMEOUT_MS, 'the database');
    const pending = migrations.filter((m) => !m.appliedAt).map((m) => m.name);
    if (pending.length > 0) problems.migrations = `not applied: ${pending.join(', ')} (run "herald migrate")`;
  } catch (err) {
    problems.database = `unreachable: ${(err as Error).message}`;
  }
  for (const [name, check] of extraChecks.get(app) ?? []) {
    try {
      const problem = await check();
      if (problem) problems[name] = problem;
    } catch (err) {
      problems[name] = (err as Error).message;
    }
  }
  return problems;
}

export function registerHealthRoutes(app: App, deps: Pick<ApiDeps, 'db'>): void {
  app.get('/healthz', { config: { auth: 'none' }, schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/readyz', { config: { auth: 'none' }, schema: { hide: true } }, async () => {
    const problems = await readiness(app, deps);
    const names = Object.keys(problems);
    if (names.length === 0) return { ok: true };
    throw new HeraldError(503, 'not_ready', `Not ready: ${names.map((n) => `${n} ${problems[n]}`).join('; ')}.`, 'api_error',
      names.map((field) => ({ field, message: problems[field], type: 'not_ready' })));
  });
}
