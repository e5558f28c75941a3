/**
 * Realtime socket benchmark (issue 12, target "realtime"): N WebSocket clients
 * (bench/socket-clients.ts, a separate process) each join the feed topic of their own user, then
 * ONE trigger with those N recipients runs through the worker, and every client records when its
 * `new-message` push arrives.
 *
 * Figures:
 *  - push latency: each socket's first `new-message`, from its message's commit: when the
 *    NOTIFY sent by the inserting statement reached an idle listener in a process of its own
 *    (bench/support/commit-listener.ts; PostgreSQL delivers it at the commit), on the machine's
 *    one wall clock. Also shown from the message's `inserted_at`, which the worker stamps when
 *    it plans the run: that adds the worker's own batching (claim, render, checkpoint), often
 *    more than the push itself;
 *  - message creation with the sockets open: N ÷ (newest `inserted_at` − the trigger's send).
 * Same-run baseline: the same trigger for N other users with no socket open. Phases run
 * bare, sockets, sockets, bare (ABBA) so the table's growth and the machine's drift weigh on both
 * alike; each figure is the mean of its two phases. Also reported: the feed statements the server
 * ran from the trigger to the last push (joins excluded), and the heartbeat floor on the same
 * sockets (a server reply with no database work behind it).
 *
 * Prints a human summary and one `BENCH` line (bench/report.ts).
 * Usage: npm run bench:sockets [-- --engine pglite|postgres] [--sockets 1000] [--worker-process]
 */
import { parseArgs } from 'node:util';
import { fork, spawn, type ChildProcess } from 'node:child_process';
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
import { fmt, percentile, report } from './report.js';
import { countingFeedReads } from '../test/support/counting-db.js';
import { NEW_MESSAGES_CHANNEL } from '../src/store/message-notify.js';
import { HERALD_NODE_FLAGS } from './support/node-flags.js';
import { machineBusySeconds } from './support/machine-cpu.js';

const { values } = parseArgs({ options: { engine: { type: 'string' }, sockets: { type: 'string' }, 'worker-process': { type: 'boolean' } } });
const engine = (values.engine ?? (process.env.DATABASE_URL ? 'postgres' : 'pglite')) as 'pglite' | 'postgres';
const N = Number(values.sockets ?? 1000);
/**
 * --worker-process (PostgreSQL): the workers run in a process of their own (bench/support/
 * worker-process.ts, as with HERALD_ROLES=worker) and this one serves only the API and sockets.
 */
const WORKER_PROCESS = values['worker-process'] === true && engine === 'postgres';
/** Every wait is bounded, so a broken run ends instead of hanging. */
const WAIT_MS = 120_000;
const POLL_MS = 50;
const GOAL_RATIO = 0.9;
const GOAL_P99_MS = 100;

const notice = {
  key: 'socket-bench',
  name: 'Socket bench',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hello **{{ recipient.id }}**: {{ data.note }}' } }],
};

const dist = (xs: number[]) => `p50 ${fmt(percentile(xs, 0.5))}  p99 ${fmt(percentile(xs, 0.99))}  max ${fmt(Math.max(...xs))} ms`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

interface ClientResult {
  sockets: number;
  connectMs: number;
  heartbeatMs: number[];
  triggerMs: number;
  /** Wall-clock ms when the trigger request was sent. */
  requestWallMs: number;
  newMessageMs: number[];
  /** Each user's first new-message, wall-clock ms. */
  arrivals: Record<string, number>;
  missing: number;
  /** The client process's CPU ms from the trigger to the last push. */
  cpuMs: number;
}

interface Phase {
  prefix: string;
  sockets: boolean;
  client: ClientResult;
  /** Messages per second: N ÷ (newest inserted_at − the trigger's send). */
  rate: number;
  /** Each push, ms after its message's inserted_at (socket phases). */
  push: number[];
  /** Each push, ms after its message's commit (its NOTIFY reaching an idle listener). */
  pushAfterCommit: number[];
  /** Each message's commit, ms after its inserted_at (the worker's own batching). */
  commitAfterInsert: number[];
  /** Feed statements from the trigger to the end of the phase. */
  feedStatements: number;
  /** CPU ms from the trigger to the last run's end: this process (API, hub; the worker too unless --worker-process), the whole machine. */
  serverCpuMs: number;
  machineCpuMs: number | null;
}

const PG_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function openDb(): Promise<{ db: Db; schema?: string; cleanup: () => Promise<void> }> {
  if (engine === 'postgres') {
    const schema = `herald_bench_${randomUUID().slice(0, 8)}`;
    const db = await openPostgres({ connectionString: PG_URL, schema, max: 20 });
    return { db, schema, cleanup: async () => { await db.exec(`DROP SCHEMA ${schema} CASCADE`); await db.close(); } };
  }
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
  const db = await openPglite({ dataDir: dir });
  return { db, cleanup: async () => { await db.close(); rmSync(dir, { recursive: true, force: true }); } };
}

function runClients(url: string, keys: { public: string; secret: string }, prefix: string, sockets: boolean, onTrigger: () => void): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const script = fileURLToPath(new URL('./socket-clients.ts', import.meta.url));
    const args = [url, keys.public, keys.secret, notice.key, String(N), prefix, ...(sockets ? [] : ['none'])];
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args]);
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d: Buffer) => {
      const text = d.toString();
      if (text.includes('[socket-clients] triggering')) onTrigger();
      process.stderr.write(text.replace(/\[socket-clients\] triggering\n/, ''));
    });
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`socket clients exited ${code}`))));
  });
}

/** Each message's inserted_at (wall-clock ms), by recipient, for the users with this prefix. */
async function insertedAt(db: Db, prefix: string): Promise<Map<string, number>> {
  const rows = await db.query<{ recipient_id: string; ms: number }>(
    `SELECT recipient_id, (extract(epoch FROM inserted_at) * 1000)::float8 AS ms FROM messages WHERE workflow_key = $1 AND recipient_id LIKE $2`,
    [notice.key, `${prefix}%`],
  );
  return new Map(rows.map((r) => [r.recipient_id, r.ms]));
}

/** Waits (bounded) until every run for `prefix` has finished and returns how many messages it made. */
async function settled(db: Db, prefix: string): Promise<number> {
  const deadline = performance.now() + WAIT_MS;
  for (;;) {
    const [row] = await db.query<{ open: number; done: number; messages: number }>(
      `SELECT count(*) FILTER (WHERE status IN ('queued', 'processing', 'paused'))::int AS open,
              count(*)::int AS done,
              (SELECT count(*)::int FROM messages WHERE workflow_key = $1 AND recipient_id LIKE $2) AS messages
         FROM recipient_runs WHERE workflow_key = $1 AND recipient_id LIKE $2`,
      [notice.key, `${prefix}%`],
    );
    if (row.done === N && row.open === 0) return row.messages;
    if (performance.now() > deadline) throw new Error(`runs for ${prefix}* not all finished within ${WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * When each recipient's notification arrived at an idle listener: a process of its own on
 * PostgreSQL (bench/support/commit-listener.ts); on PGlite (one process) a listener on Herald's
 * own database handle, which shares Herald's event loop (so it can only understate the latency).
 */
async function commitListener(db: Db): Promise<{ dump: () => Promise<Record<string, number>>; close: () => Promise<void> }> {
  const channel = db.channelName(NEW_MESSAGES_CHANNEL);
  if (engine === 'postgres') {
    const script = fileURLToPath(new URL('./support/commit-listener.ts', import.meta.url));
    const schemaUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    const child: ChildProcess = fork(script, [schemaUrl, channel], { execArgv: ['--import', 'tsx'] });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`commit listener exited (${code})`)));
    });
    return {
      dump: () => new Promise((resolve) => { child.once('message', (m: { arrivals: Record<string, number> }) => resolve(m.arrivals)); child.send({ cmd: 'dump' }); }),
      close: () => new Promise((resolve) => { child.once('exit', () => resolve()); child.send({ cmd: 'close' }); }),
    };
  }
  let arrivals: Record<string, number> = {};
  const unlisten = await db.listen(NEW_MESSAGES_CHANNEL, (payload) => {
    const at = performance.timeOrigin + performance.now();
    try {
      const { r } = JSON.parse(payload) as { r?: string };
      if (typeof r === 'string' && arrivals[r] === undefined) arrivals[r] = at;
    } catch { /* not ours */ }
  });
  return { dump: async () => { const a = arrivals; arrivals = {}; return a; }, close: () => unlisten() };
}

async function main() {
  const { db: raw, schema, cleanup } = await openDb();
  const { db, reads: count } = countingFeedReads(raw);
  const workflowsDir = writeWorkflowsDir([notice]);
  const herald = await createHerald({ db, logger: pino({ level: 'silent' }), workflowsDir, pollIntervalMs: 50 });
  await herald.app.listen({ port: 0, host: '127.0.0.1' });
  const commits = await commitListener(raw);
  const addr = herald.app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  // The workers run as `npm start` runs them: woken by NOTIFY, polling when idle; in this
  // process, or (--worker-process) in one of their own.
  let workerChild: ChildProcess | undefined;
  if (WORKER_PROCESS) {
    const script = fileURLToPath(new URL('./support/worker-process.ts', import.meta.url));
    const child = fork(script, [PG_URL, schema!, workflowsDir, '50'], { execArgv: [...HERALD_NODE_FLAGS, '--import', 'tsx'] });
    workerChild = child;
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`worker process exited (${code})`)));
    });
  } else {
    herald.worker.start();
    herald.background.start();
  }
  console.log(`Realtime socket benchmark on ${engine}: ${fmt(N)} WebSocket clients (separate process), one trigger with ${fmt(N)} recipients, worker running ${WORKER_PROCESS ? 'in its own process' : 'in the API\'s process'}\n`);

  const order: [string, boolean][] = [['bare1', false], ['sock1', true], ['sock2', true], ['bare2', false]];
  for (const prefix of ['warm', 'warmsock', ...order.map(([p]) => p)]) {
    await raw.query(`INSERT INTO entities (collection, id, properties, inserted_at, updated_at) SELECT '$users', $1 || g, '{}', now(), now() FROM generate_series(1, $2::int) g`, [`${prefix}_`, N]);
  }
  await raw.exec('ANALYZE');

  // Warm-up (workflow cache, render processes, JIT, query plans). Triggers come from the client
  // process: an HTTP client inside the server's process would read its 200 only when the worker
  // leaves the event loop. The first renders may fail while render processes start on a loaded
  // machine; the warm-up only needs its runs finished.
  await runClients(url, herald.keys, 'warm_', false, () => {});
  await settled(raw, 'warm_');
  // Then once with sockets, so the push path (the hub's flush, its feed statement, the sends) is
  // warm too: otherwise the first socket phase alone pays for its first run (JIT, planning).
  await runClients(url, herald.keys, 'warmsock_', true, () => {});
  await settled(raw, 'warmsock_');
  await commits.dump();

  const phases: Phase[] = [];
  for (const [name, sockets] of order) {
    const prefix = `${name}_`;
    let atTrigger = 0;
    let cpuAtTrigger = process.cpuUsage();
    let machineAtTrigger: number | null = null;
    const client = await runClients(url, herald.keys, prefix, sockets, () => {
      atTrigger = count();
      cpuAtTrigger = process.cpuUsage();
      machineAtTrigger = machineBusySeconds();
    });
    const made = await settled(raw, prefix);
    const cpu = process.cpuUsage(cpuAtTrigger);
    const serverCpuMs = (cpu.user + cpu.system) / 1000;
    const machineNow = machineBusySeconds();
    const machineCpuMs = machineNow !== null && machineAtTrigger !== null ? (machineNow - machineAtTrigger) * 1000 : null;
    if (made !== N) throw new Error(`${name}: ${made} of ${N} messages created`);
    const feedStatements = count() - atTrigger;
    const inserted = await insertedAt(raw, prefix);
    const newest = Math.max(...inserted.values());
    const rate = N / ((newest - client.requestWallMs) / 1000);
    const push = Object.entries(client.arrivals).map(([user, at]) => at - inserted.get(user)!);
    // Every commit notice of this phase has arrived once every run has finished (settled()).
    const committed = await commits.dump();
    const pushAfterCommit = Object.entries(client.arrivals).filter(([user]) => committed[user] !== undefined).map(([user, at]) => at - committed[user]);
    const commitAfterInsert = [...inserted].filter(([user]) => committed[user] !== undefined).map(([user, at]) => committed[user] - at);
    phases.push({ prefix, sockets, client, rate, push, pushAfterCommit, commitAfterInsert, feedStatements, serverCpuMs, machineCpuMs });
    console.log(`${name.padEnd(6)} ${sockets ? `${fmt(client.sockets)} sockets` : 'no socket'}: ${fmt(N)} messages at ${fmt(rate)}/s (trigger answered in ${fmt(client.triggerMs)} ms, last message ${fmt(newest - client.requestWallMs)} ms after it was sent)`
      + `${sockets ? `; push after commit ${dist(pushAfterCommit)}, after inserted_at ${dist(push)} (${client.missing} sockets got none); feed statements ${fmt(feedStatements)}` : ''}`
      + `; commit after inserted_at ${dist(commitAfterInsert)}`
      + `; CPU this process ${fmt(serverCpuMs)} ms${sockets ? `, clients ${fmt(client.cpuMs)} ms` : ''}, machine ${machineCpuMs === null ? 'n/a' : `${fmt(machineCpuMs)} ms`}`);
  }
  if (workerChild) {
    const child = workerChild;
    await new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.send({ cmd: 'close' }); });
  }
  await herald.close();
  await commits.close();

  const sock = phases.filter((p) => p.sockets);
  const bare = phases.filter((p) => !p.sockets);
  const push = sock.flatMap((p) => p.push);
  const missing = sock.reduce((n, p) => n + p.client.missing, 0);
  const sockRate = mean(sock.map((p) => p.rate));
  const bareRate = mean(bare.map((p) => p.rate));
  const ratio = sockRate / bareRate;
  const pushAfterCommit = sock.flatMap((p) => p.pushAfterCommit);
  const p50 = percentile(pushAfterCommit, 0.5);
  const p99 = percentile(pushAfterCommit, 0.99);
  const p99Inserted = percentile(push, 0.99);
  const heartbeat = sock.flatMap((p) => p.client.heartbeatMs);
  console.log(`\nbaseline   heartbeat reply on the same sockets: ${dist(heartbeat)} (sent on all at once; no database work)`);
  console.log(`creation   ${fmt(sockRate)}/s with ${fmt(N)} sockets open vs ${fmt(bareRate)}/s with none: ratio ${fmt(ratio, 2)}`);
  console.log(`push       p50 ${fmt(p50)} ms, p99 ${fmt(p99)} ms after the commit (p99 ${fmt(p99Inserted)} ms after inserted_at); feed statements per socket phase ${sock.map((p) => fmt(p.feedStatements)).join(', ')}\n`);
  report({
    target: 'realtime',
    engine,
    figure: `${fmt(N)} sockets${WORKER_PROCESS ? ' (worker in its own process)' : ''}: push p50 ${fmt(p50)} ms, p99 ${fmt(p99)} ms after commit (p99 ${fmt(p99Inserted)} ms after inserted_at); messages created at ${fmt(sockRate)}/s`,
    baseline: `messages created at ${fmt(bareRate)}/s with no socket open`,
    ratio: Number(ratio.toFixed(3)),
    goal: `ratio ≥ ${GOAL_RATIO} (≤ 10 % slower), push p99 ≤ ${GOAL_P99_MS} ms`,
    met: ratio >= GOAL_RATIO && p99 <= GOAL_P99_MS && missing === 0,
    extra: {
      sockets: N,
      missingPushes: missing,
      pushP50Ms: Math.round(p50),
      pushP99Ms: Math.round(p99),
      pushMaxMs: Math.round(Math.max(...pushAfterCommit)),
      pushP99AfterInsertedAtMs: Math.round(p99Inserted),
      commitAfterInsertedAtP99Ms: Math.round(percentile(sock.flatMap((p) => p.commitAfterInsert), 0.99)),
      ratesWithSockets: sock.map((p) => Math.round(p.rate)),
      ratesWithout: bare.map((p) => Math.round(p.rate)),
      feedStatementsPerSocketPhase: sock.map((p) => p.feedStatements),
      heartbeatP99Ms: Math.round(percentile(heartbeat, 0.99)),
      triggerMs: sock.map((p) => Math.round(p.client.triggerMs)),
    },
  });
  const unmatched = sock.reduce((n, p) => n + p.client.sockets - p.pushAfterCommit.length, 0);
  if (unmatched > 0) console.log(`warning: ${unmatched} pushes had no commit notice at the listener`);
  if (missing > 0 || unmatched > 0) process.exitCode = 1;
  await cleanup();
}

main().catch((err) => { console.error(err); process.exit(1); });
