/**
 * Realtime socket benchmark: 1,000 WebSocket clients (bench/socket-clients.ts, a separate
 * process) each join the feed topic of their own user, then ONE trigger with those 1,000
 * recipients runs through the worker, and every client records the time to its `new-message`
 * push, from sending the trigger and from its 200. Two baselines from the same run, same database:
 *  - transport floor: the same 1,000 sockets answering a heartbeat sent on all of them at once
 *    (a server reply with no database work behind it);
 *  - engine floor: the same trigger for 1,000 other users with no socket open, timed from sending
 *    it to each message's `inserted_at` and to the moment all 1,000 are visible.
 * The gap between the engine floor and the pushes is what the realtime path costs (LISTEN/NOTIFY,
 * one feed-count query per socket, the frames). Figures only; there is no pass/fail threshold.
 * Usage: npm run bench:sockets [-- --engine pglite|postgres] [--sockets 1000]
 */
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createHerald } from '../src/herald.js';
import type { Db } from '../src/store/db.js';
import { openPglite } from '../src/store/pglite-adapter.js';
import { openPostgres } from '../src/store/pg-adapter.js';
import { writeWorkflowsDir } from '../test/support/harness.js';

const { values } = parseArgs({ options: { engine: { type: 'string' }, sockets: { type: 'string' } } });
const engine = values.engine ?? (process.env.DATABASE_URL ? 'postgres' : 'pglite');
const N = Number(values.sockets ?? 1000);
/** Every wait is bounded, so a broken run ends instead of hanging. */
const WAIT_MS = 120_000;
const POLL_MS = 10;

const notice = {
  key: 'socket-bench',
  name: 'Socket bench',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hello **{{ recipient.id }}**: {{ data.note }}' } }],
};

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN; };
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const dist = (xs: number[]) => `p50 ${fmt(pct(xs, 0.5))}  p99 ${fmt(pct(xs, 0.99))}  max ${fmt(Math.max(...xs))} ms`;

interface ClientResult {
  sockets: number;
  connectMs: number;
  heartbeatMs: number[];
  /** The trigger's 200 came this long after the request was sent. */
  triggerMs: number;
  /** Wall-clock time the trigger request was sent (to compare with messages' inserted_at). */
  requestWallMs: number;
  /** Each socket's first new-message, from the moment the trigger request was sent. */
  newMessageMs: number[];
  missing: number;
}

async function openDb(): Promise<{ db: Db; cleanup: () => Promise<void> }> {
  if (engine === 'postgres') {
    const schema = `herald_bench_${randomUUID().slice(0, 8)}`;
    const db = await openPostgres({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', schema, max: 20 });
    return { db, cleanup: async () => { await db.exec(`DROP SCHEMA ${schema} CASCADE`); await db.close(); } };
  }
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
  const db = await openPglite({ dataDir: dir });
  return { db, cleanup: async () => { await db.close(); rmSync(dir, { recursive: true, force: true }); } };
}

function runClients(url: string, publicKey: string, secretKey: string, prefix: string, sockets: boolean): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const script = fileURLToPath(new URL('./socket-clients.ts', import.meta.url));
    const args = [url, publicKey, secretKey, notice.key, String(N), prefix, ...(sockets ? [] : ['none'])];
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args]);
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => process.stderr.write(d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`socket clients exited ${code}`))));
  });
}

/** Milliseconds from `sinceWallMs` to each message's `inserted_at`, for the users with this prefix. */
async function insertedAfter(db: Db, prefix: string, sinceWallMs: number): Promise<number[]> {
  const rows = await db.query<{ ms: number }>(
    `SELECT (extract(epoch FROM inserted_at) * 1000)::float8 AS ms FROM messages WHERE workflow_key = $1 AND recipient_id LIKE $2`,
    [notice.key, `${prefix}%`],
  );
  return rows.map((r) => r.ms - sinceWallMs);
}

async function countMessages(db: Db, prefix: string): Promise<number> {
  const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE workflow_key = $1 AND recipient_id LIKE $2`, [notice.key, `${prefix}%`]);
  return row.n;
}

/** Waits (bounded) until all N messages for `prefix` exist; returns when, as wall-clock ms. */
async function allVisible(db: Db, prefix: string): Promise<number> {
  const deadline = performance.now() + WAIT_MS;
  while ((await countMessages(db, prefix)) < N) {
    if (performance.now() > deadline) throw new Error(`messages for ${prefix}* not all created within ${WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return Date.now();
}

async function main() {
  const { db, cleanup } = await openDb();
  const herald = await createHerald({ db, logger: pino({ level: 'silent' }), workflowsDir: writeWorkflowsDir([notice]), pollIntervalMs: 50 });
  await herald.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = herald.app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  // The workers run as `npm start` runs them: woken by NOTIFY, polling when idle.
  herald.worker.start();
  herald.background.start();
  console.log(`Realtime socket benchmark on ${engine}: ${fmt(N)} WebSocket clients (separate process), one trigger with ${fmt(N)} recipients, worker running\n`);

  // Set-up (not measured): the users.
  for (const prefix of ['warm', 'bare', 'sock']) {
    await db.query(`INSERT INTO entities (collection, id, properties, inserted_at, updated_at) SELECT '$users', $1 || g, '{}', now(), now() FROM generate_series(1, $2::int) g`, [prefix, N]);
  }
  await db.exec('ANALYZE');
  const { public: pk, secret: sk } = herald.keys;

  // Warm-up (workflow cache, JIT, query plans), then the engine floor: the same trigger with no
  // socket open. Both triggers come from the client process: an HTTP client inside the server's
  // process would read its 200 only when the worker leaves the event loop.
  await runClients(url, pk, sk, 'warm', false);
  await allVisible(db, 'warm');
  const bare = await runClients(url, pk, sk, 'bare', false);
  const bareVisibleMs = (await allVisible(db, 'bare')) - bare.requestWallMs;
  const bareInserted = await insertedAfter(db, 'bare', bare.requestWallMs);

  // The sockets: join, heartbeat floor, then the trigger and its pushes.
  const r = await runClients(url, pk, sk, 'sock', true);
  const sockInserted = await insertedAfter(db, 'sock', r.requestWallMs);
  await herald.close();

  const push = r.newMessageMs;
  console.log(`sockets    ${fmt(r.sockets)} connected and joined, one feed topic per user, in ${fmt(r.connectMs)} ms`);
  console.log(`push       trigger for ${fmt(N)} users answered 200 after ${fmt(r.triggerMs)} ms (all times below from sending the trigger)`);
  console.log(`           each socket's new-message:                   ${push.length ? dist(push) : 'none'}  (${r.missing} sockets got none)`);
  console.log(`           the same, counted from the trigger's 200:    ${push.length ? dist(push.map((ms) => ms - r.triggerMs)) : 'none'}`);
  console.log(`           those messages' inserted_at:                 ${dist(sockInserted)}`);
  console.log(`baseline   heartbeat reply on the same 1,000 sockets:   ${dist(r.heartbeatMs)}  (sent on all at once; no database work)`);
  console.log(`baseline   same trigger, no socket open: 200 after ${fmt(bare.triggerMs)} ms; inserted_at ${dist(bareInserted)}; all ${fmt(N)} seen by a poll every ${POLL_MS} ms after ${fmt(bareVisibleMs)} ms`);
  if (r.missing > 0) process.exitCode = 1;
  await cleanup();
}

main().catch((err) => { console.error(err); process.exit(1); });
