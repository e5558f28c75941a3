import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import pino from 'pino';
import Knock from '@knocklabs/node';
import { ManualClock } from '../../src/domain/clock.js';
import type { Db } from '../../src/store/db.js';
import { openPglite } from '../../src/store/pglite-adapter.js';
import { openPostgres } from '../../src/store/pg-adapter.js';
import { createHerald, type Herald, type HeraldOptions } from '../../src/herald.js';

export type EngineName = 'pglite' | 'postgres';

/** The suite runs on PGlite always, and on PostgreSQL too when DATABASE_URL is set (CI sets it). */
export const engines: EngineName[] = process.env.DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

/** A database for one test: a copy of the migrated PGlite template, or a fresh PostgreSQL schema. */
export async function openTestDb(engine: EngineName): Promise<Db> {
  if (engine === 'pglite') {
    const bytes = readFileSync(inject('pgliteTemplate'));
    return openPglite({ loadDataDir: new Blob([bytes]) });
  }
  const schema = `herald_t_${randomBytes(6).toString('hex')}`;
  const db = await openPostgres({ connectionString: process.env.DATABASE_URL!, schema, max: 5 });
  const close = db.close.bind(db);
  return {
    ...db,
    async close() {
      // With its environments' schemas beside it (environments/names.ts).
      const envSchemas = await db.query<{ name: string }>("SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE $1", [`${schema}\\_env\\_%`]).catch(() => []);
      for (const { name } of envSchemas) await db.exec(`DROP SCHEMA IF EXISTS "${name}" CASCADE`).catch(() => {});
      await db.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await close();
    },
  };
}

/** Writes workflow definitions in knock-cli layout (`<dir>/<key>/workflow.json`). */
export function writeWorkflowsDir(workflows: Record<string, unknown>[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-workflows-'));
  for (const wf of workflows) {
    const key = String((wf as { key: string }).key);
    mkdirSync(join(dir, key));
    writeFileSync(join(dir, key, 'workflow.json'), JSON.stringify(wf, null, 2));
  }
  return dir;
}

export interface TestHerald {
  herald: Herald;
  db: Db;
  clock: ManualClock;
  url: string;
  /** The official Node SDK, pointed at this Herald with the secret key. */
  knock: Knock;
  secretKey: string;
  publicKey: string;
  /** Advances every due run and background task until nothing is due at the current clock time. */
  drain(): Promise<number>;
  close(): Promise<void>;
}

export interface StartOptions {
  workflows?: Record<string, unknown>[];
  workflowsDir?: string;
  clock?: ManualClock;
  signingPublicKey?: string;
  fanoutPageSize?: number;
  /**
   * Outbound calls to addresses from data (http_fetch, webhook channel, chat incoming webhooks):
   * the harness allows private networks (test servers listen on 127.0.0.1) unless
   * `allowPrivateNetworks: false` is passed, as Herald's default is.
   */
  outbound?: { allowPrivateNetworks?: boolean };
  /** http_fetch: `timeoutMs` shortens the 15 s request timeout. */
  fetch?: { timeoutMs?: number };
  /** Configured channels, channel groups and email layouts, as `HERALD_CHANNELS` etc. would give. */
  channels?: HeraldOptions['channels'];
  channelGroups?: HeraldOptions['channelGroups'];
  emailLayouts?: HeraldOptions['emailLayouts'];
  /** Request rate limits; the defaults never refill under the manual clock, so load tests pass 0 (off). */
  rateLimits?: HeraldOptions['rateLimits'];
  /** A logger to read what Herald logs (default: silent, or HERALD_TEST_LOG's level). */
  logger?: HeraldOptions['logger'];
  /** HERALD_PUBLIC_URL: the base of absolute URLs in answers (default: the listen address). */
  publicUrl?: string;
  /** Environments in promotion order (HERALD_ENVIRONMENTS); default: development only, which keeps tests that need one cheap. */
  environments?: string[];
  /** HERALD_DEFAULT_LOCALE: the locale translations fall back to (default en). */
  defaultLocale?: string;
  /** The dashboard: HERALD_DASHBOARD_TOKEN and where its build is (default dashboard/dist). */
  dashboard?: HeraldOptions['dashboard'];
}

/** A real Herald on a loopback port with a manual clock; its worker is driven by `drain()`. */
export async function startTestHerald(engine: EngineName, opts: StartOptions = {}): Promise<TestHerald> {
  const db = await openTestDb(engine);
  const clock = opts.clock ?? new ManualClock('2026-03-01T12:00:00Z');
  const workflowsDir = opts.workflowsDir ?? (opts.workflows ? writeWorkflowsDir(opts.workflows) : undefined);
  const herald = await createHerald({
    db,
    clock,
    logger: opts.logger ?? pino({ level: process.env.HERALD_TEST_LOG ?? 'silent' }),
    workflowsDir,
    signingPublicKey: opts.signingPublicKey,
    publicUrl: opts.publicUrl,
    fanoutPageSize: opts.fanoutPageSize,
    outbound: { allowPrivateNetworks: true, ...opts.outbound },
    fetch: opts.fetch,
    channels: opts.channels,
    channelGroups: opts.channelGroups,
    emailLayouts: opts.emailLayouts,
    rateLimits: opts.rateLimits,
    environments: opts.environments,
    defaultLocale: opts.defaultLocale,
    dashboard: opts.dashboard,
  });
  await herald.app.listen({ port: 0, host: '127.0.0.1' });
  const address = herald.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  const knock = new Knock({ apiKey: herald.keys.secret, baseURL: url, maxRetries: 0 });
  return {
    herald,
    db,
    clock,
    url,
    knock,
    secretKey: herald.keys.secret,
    publicKey: herald.keys.public,
    drain: () => drainAll(herald),
    async close() {
      await herald.close();
      await db.close();
    },
  };
}

/** Runs and background work feed each other (a fan-out page creates runs), so drain both until idle. */
export async function drainAll(herald: Herald): Promise<number> {
  let total = 0;
  for (;;) {
    let n = 0;
    for (const env of herald.environments) n += (await env.background.drain()) + (await env.worker.drain());
    total += n;
    if (n === 0) return total;
  }
}

/** A plain HTTP call for what the SDK cannot express (raw errors, headers, query encodings). */
export async function http(t: TestHerald, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(t.url + path, {
    method,
    headers: { authorization: `Bearer ${t.secretKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}
