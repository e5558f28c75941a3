/**
 * Email benchmark (issue 12, target "email"): 10,000 emails through SMTP to a real SMTP server on
 * loopback (`smtp-server`, AUTH required, in a child process of its own so its event loop is not
 * Herald's; it drains each DATA stream without parsing it and counts the mails it accepted).
 * Herald: 10,000 users with an email, 100 triggers of 100 recipients each (--per-trigger) of a
 * workflow with one email step (Liquid subject/html/text) on the `smtp` channel. The run worker
 * queues every message first (reported, not the figure); then the background worker (delivery
 * task) starts, and the figure is the delivery rate from its start to the last `message.sent`
 * event. Also: p50/p99 of (message.sent − delivery start).
 * Baselines, same run, same server: the same 10,000 emails sent with nodemailer alone, 20 sends
 * in flight: with a pooled transport of 20 connections (the target's baseline; Herald's channel
 * gets the same `max_connections`), and not pooled (one SMTP connection per mail, Herald's old
 * behaviour). Each phase must leave exactly `count` mails on the server.
 * Prints `BENCH {json}` (bench/report.ts): figure emails/s, ratio to pooled nodemailer, goal ≥ 0.8.
 * Usage: npx tsx bench/email.ts [--engine pglite|postgres] [--count 10000] [--per-trigger 100]
 *        [--poll-interval-ms 1000] [--server smtp-server|raw] [--profile prefix] [--timeline] [--keep]
 * --profile writes V8 CPU profiles of the delivery phase (prefix-herald.cpuprofile) and of the
 * pooled baseline (prefix-baseline.cpuprofile), to open in Chrome DevTools or summarise. --keep
 * leaves the PostgreSQL schema in place (its name is printed) for EXPLAIN afterwards.
 */
import { parseArgs } from 'node:util';
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Session } from 'node:inspector/promises';
import nodemailer from 'nodemailer';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { createHerald } from '../src/herald.js';
import type { Db } from '../src/store/db.js';
import { openPglite } from '../src/store/pglite-adapter.js';
import { openPostgres } from '../src/store/pg-adapter.js';
import { writeWorkflowsDir } from '../test/support/harness.js';
import { report } from './report.js';

const { values } = parseArgs({ options: { engine: { type: 'string' }, count: { type: 'string' }, 'poll-interval-ms': { type: 'string' }, 'per-trigger': { type: 'string' }, serve: { type: 'boolean' }, server: { type: 'string' }, profile: { type: 'string' }, timeline: { type: 'boolean' }, keep: { type: 'boolean' } } });
const engine = values.engine ?? (process.env.DATABASE_URL ? 'postgres' : 'pglite');
const N = Number(values.count ?? 10_000);
/** smtp-server (the package; it waits 100 ms before every greeting) or raw (a minimal server, no delay). */
const SERVER = values.server ?? 'smtp-server';
/** `npm start`'s default idle poll (NOTIFY wakes the workers sooner). */
const POLL_MS = Number(values['poll-interval-ms'] ?? 1000);
/** Sends in flight and pooled connections of the baseline; Herald's channel gets as many connections. */
const SEND_CONCURRENCY = 20;
const TRIGGER_CONCURRENCY = 16;
/** Recipients per trigger (the API takes up to 1,000); --per-trigger 1 for one trigger per email. */
const PER_TRIGGER = Number(values['per-trigger'] ?? 100);
const USER = 'herald';
const PASSWORD = 'bench-smtp-pass';
const FROM = 'Herald <noreply@herald.test>';
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0; };

const welcome = {
  key: 'welcome',
  name: 'Welcome',
  steps: [{
    ref: 'email',
    type: 'channel',
    channel_key: 'postal',
    template: {
      subject: 'Welcome, {{ recipient.name }}',
      html_body: '<p>Hello <b>{{ recipient.name }}</b>, your code is {{ data.code }}</p>',
      text_body: 'Hello {{ recipient.name }}, your code is {{ data.code }}',
    },
  }],
};

// ---- The SMTP server (child process) ----------------------------------------------------------

/** Reports the port, answers `count` with the mails accepted so far, exits on `close`. */
function serve(kind: string): void {
  let received = 0;
  const server = kind === 'raw' ? rawServer(() => { received += 1; }) : packageServer(() => { received += 1; });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'count') { const u = process.cpuUsage(); process.send!({ received, cpuMs: (u.user + u.system) / 1000 }); }
    else if (m.cmd === 'close') process.exit(0);
  });
}

/** `smtp-server` (as test/support/smtp-server.ts) without mailparser: the DATA stream is drained. */
function packageServer(accepted: () => void): NetServer {
  const smtp = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    disableReverseLookup: true,
    logger: false,
    onAuth: (auth, _session, cb) => (auth.username === USER && auth.password === PASSWORD ? cb(null, { user: USER }) : cb(new Error('bad credentials'))),
    onData: (stream, _session, cb) => {
      stream.on('data', () => {});
      stream.on('end', () => { accepted(); cb(); });
    },
  });
  smtp.on('error', () => {});
  return smtp.server;
}

/**
 * A minimal ESMTP server on node:net (EHLO with PIPELINING, AUTH PLAIN/LOGIN checked, MAIL only
 * after AUTH, RCPT, DATA, RSET, NOOP, QUIT): no greeting delay, so only the client's costs remain.
 */
function rawServer(accepted: () => void): NetServer {
  return createNetServer((socket) => {
    socket.setNoDelay(true);
    let buf = '';
    let authed = false;
    let inData = false;
    let login: 'user' | 'pass' | 'plain' | null = null;
    let loginUser = '';
    const reply = (text: string) => socket.write(`${text}\r\n`);
    const checkPlain = (b64: string) => {
      const [, user, pass] = Buffer.from(b64, 'base64').toString('utf8').split('\0');
      authed = user === USER && pass === PASSWORD;
      reply(authed ? '235 2.7.0 Authentication successful' : '535 5.7.8 Authentication failed');
    };
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      buf += chunk.toString('latin1');
      let at: number;
      while ((at = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, at);
        buf = buf.slice(at + 2);
        if (inData) {
          if (line === '.') { inData = false; accepted(); reply('250 2.0.0 OK queued'); }
          continue;
        }
        if (login === 'plain') { login = null; checkPlain(line); continue; }
        if (login === 'user') { login = 'pass'; loginUser = Buffer.from(line, 'base64').toString('utf8'); reply('334 UGFzc3dvcmQ6'); continue; }
        if (login === 'pass') {
          login = null;
          authed = loginUser === USER && Buffer.from(line, 'base64').toString('utf8') === PASSWORD;
          reply(authed ? '235 2.7.0 Authentication successful' : '535 5.7.8 Authentication failed');
          continue;
        }
        const [verb, ...rest] = line.split(' ');
        switch (verb.toUpperCase()) {
          case 'EHLO': reply('250-bench\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 AUTH PLAIN LOGIN'); break;
          case 'HELO': case 'RSET': case 'NOOP': reply('250 OK'); break;
          case 'AUTH': {
            const mech = (rest[0] ?? '').toUpperCase();
            if (mech === 'PLAIN' && rest[1]) checkPlain(rest[1]);
            else if (mech === 'PLAIN') { login = 'plain'; reply('334 '); }
            else if (mech === 'LOGIN') { login = 'user'; reply('334 VXNlcm5hbWU6'); }
            else reply('504 5.5.4 Unrecognized authentication type');
            break;
          }
          case 'MAIL': reply(authed ? '250 2.1.0 Accepted' : '530 5.7.0 Authentication required'); break;
          case 'RCPT': reply(authed ? '250 2.1.5 Accepted' : '530 5.7.0 Authentication required'); break;
          case 'DATA': if (authed) { inData = true; reply('354 End data with <CR><LF>.<CR><LF>'); } else reply('530 5.7.0 Authentication required'); break;
          case 'QUIT': reply('221 2.0.0 Bye'); socket.end(); break;
          default: reply('502 5.5.2 Command not implemented');
        }
      }
    });
    reply('220 bench ESMTP');
  });
}

class SmtpChild {
  private constructor(private readonly child: ChildProcess, readonly port: number) {}

  static async start(): Promise<SmtpChild> {
    const child = fork(fileURLToPath(import.meta.url), ['--serve', '--server', SERVER], { execArgv: process.execArgv });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { port: number }) => resolve(m.port));
      child.once('exit', (code) => reject(new Error(`SMTP server exited (${code})`)));
    });
    return new SmtpChild(child, port);
  }

  received(): Promise<number> {
    return this.stats().then((s) => s.received);
  }

  /** Mails accepted so far and the server process's CPU time (ms). */
  stats(): Promise<{ received: number; cpuMs: number }> {
    return new Promise((resolve) => {
      this.child.once('message', (m: { received: number; cpuMs: number }) => resolve(m));
      this.child.send({ cmd: 'count' });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => { this.child.once('exit', () => resolve()); this.child.send({ cmd: 'close' }); });
  }
}

// ---- Helpers -----------------------------------------------------------------------------------

async function openDb(): Promise<{ db: Db; cleanup: () => Promise<void> }> {
  if (engine === 'postgres') {
    const schema = `herald_bench_${randomUUID().slice(0, 8)}`;
    const db = await openPostgres({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', schema, max: 20 });
    return { db, cleanup: async () => {
      if (values.keep) console.log(`kept schema ${schema} (--keep)`);
      else await db.exec(`DROP SCHEMA ${schema} CASCADE`);
      await db.close();
    } };
  }
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
  const db = await openPglite({ dataDir: dir });
  return { db, cleanup: async () => { await db.close(); rmSync(dir, { recursive: true, force: true }); } };
}

async function count(db: Db, sql: string): Promise<number> {
  return (await db.query<{ n: number }>(sql))[0].n;
}

/** Polls `current()` every 100 ms until it reaches N; fails when it stops moving for 60 s. */
async function waitFor(current: () => Promise<number>, what: string): Promise<void> {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const n = await current();
    if (n >= N) return;
    if (n !== last) { last = n; lastChange = Date.now(); }
    if (Date.now() - lastChange > 60_000) throw new Error(`stalled at ${n} of ${N} ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs `one(i)` for i < total from `concurrency` loops; returns the elapsed seconds. */
async function loops(total: number, concurrency: number, one: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) await one(next++);
  }));
  return (performance.now() - t0) / 1000;
}

/** The smtp provider's transport options (src/providers/smtp.ts) for these channel settings. */
function heraldTransportOptions(port: number) {
  return {
    host: '127.0.0.1', port, secure: false, ignoreTLS: true, requireTLS: false,
    auth: { user: USER, pass: PASSWORD }, tls: { rejectUnauthorized: true },
    connectionTimeout: 15_000, greetingTimeout: 15_000, socketTimeout: 30_000,
  };
}

/** The same mails as Herald renders them, sent with nodemailer alone; returns mails/s. */
async function baseline(smtp: SmtpChild, pooled: boolean, total = N): Promise<number> {
  const transport = pooled
    ? nodemailer.createTransport({ ...heraldTransportOptions(smtp.port), pool: true, maxConnections: SEND_CONCURRENCY })
    : nodemailer.createTransport(heraldTransportOptions(smtp.port));
  const before = await smtp.received();
  const doneAt: number[] = [];
  const secs = await loops(total, SEND_CONCURRENCY, (i) => transport.sendMail({
    from: FROM,
    to: [`u${i + 1}@example.com`],
    subject: `Welcome, User ${i + 1}`,
    html: `<p>Hello <b>User ${i + 1}</b>, your code is ${i}</p>`,
    text: `Hello User ${i + 1}, your code is ${i}`,
    messageId: `<${randomUUID()}@herald.test>`,
  }).then(() => { doneAt.push(performance.now()); }));
  transport.close();
  if (values.timeline && pooled) {
    const t0 = doneAt[0];
    const series = new Array<number>(Math.floor((doneAt[doneAt.length - 1] - t0) / 100) + 1).fill(0);
    for (const t of doneAt) series[Math.floor((t - t0) / 100)] += 1;
    console.log(`baseline sends per 100 ms in order: ${series.join(' ')}`);
  }
  const got = (await smtp.received()) - before;
  if (got !== total) throw new Error(`baseline (${pooled ? 'pooled' : 'not pooled'}): the SMTP server received ${got} mails, expected ${total}`);
  return total / secs;
}

/** The same database, counting statements by their first words (outside transactions). */
function countingStatements(db: Db) {
  let counts = new Map<string, number>();
  /** Milliseconds from each statement's call to its answer (queueing for a connection included). */
  let ms = new Map<string, number>();
  const label = (sql: string) => sql.replace(/\s+/g, ' ').trim().slice(0, 70);
  const proxy = new Proxy(db, {
    get(target, prop) {
      if (prop === 'query' || prop === 'exec') {
        return (sql: string, ...rest: unknown[]) => {
          const k = label(sql);
          counts.set(k, (counts.get(k) ?? 0) + 1);
          const t0 = performance.now();
          const out = (target[prop] as (...a: unknown[]) => Promise<unknown>).call(target, sql, ...rest);
          void out.then(() => { ms.set(k, (ms.get(k) ?? 0) + performance.now() - t0); }, () => {});
          return out;
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { db: proxy, reset: () => { counts = new Map(); ms = new Map(); }, snapshot: () => counts, millis: () => ms };
}

/** A CPU profile of this process between the call and the returned stop (--profile only). */
async function profiling(name: string): Promise<() => Promise<void>> {
  if (!values.profile) return async () => {};
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(`${values.profile}-${name}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  };
}

// ---- CPU accounting --------------------------------------------------------------------------

const TICK_MS = 1000 / 100; // USER_HZ
/** CPU ms (user + system) of a process, from /proc; 0 when it is gone or not readable. */
function procCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch { return 0; }
}

/**
 * CPU spent by this process, the SMTP server and the PostgreSQL backends serving this database
 * (read through /proc: the database server is on this machine) between `start` and `stop`.
 */
async function cpuMeter(db: Db, smtp: SmtpChild) {
  const backends = async () => (engine === 'postgres'
    ? (await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')).map((r) => r.pid)
    : []);
  const self0 = process.cpuUsage();
  const smtp0 = (await smtp.stats()).cpuMs;
  const pids0 = await backends();
  const pg0 = new Map(pids0.map((p) => [p, procCpuMs(p)]));
  return async () => {
    const self = process.cpuUsage(self0);
    const smtpMs = (await smtp.stats()).cpuMs - smtp0;
    let pgMs = 0;
    for (const pid of new Set([...pids0, ...(await backends())])) {
      const now = procCpuMs(pid);
      if (now > 0) pgMs += now - (pg0.get(pid) ?? 0);
    }
    return { nodeMs: (self.user + self.system) / 1000, smtpMs, pgMs };
  };
}
const perMail = (c: { nodeMs: number; smtpMs: number; pgMs: number }) =>
  `CPU per mail: this process ${(c.nodeMs / N).toFixed(3)} ms, SMTP server ${(c.smtpMs / N).toFixed(3)} ms, PostgreSQL ${(c.pgMs / N).toFixed(3)} ms`;

// ---- The benchmark -----------------------------------------------------------------------------

async function main() {
  const smtp = await SmtpChild.start();
  const { db, cleanup } = await openDb();
  const counted = countingStatements(db);
  const herald = await createHerald({
    db: counted.db, logger: pino({ level: 'silent' }), workflowsDir: writeWorkflowsDir([welcome]), pollIntervalMs: POLL_MS,
    channels: [{ key: 'postal', type: 'email', provider: 'smtp', name: 'Postal', settings: { host: '127.0.0.1', port: smtp.port, ignore_tls: true, user: USER, password: PASSWORD, from: FROM, max_connections: SEND_CONCURRENCY } }],
  });
  console.log(`Email benchmark on ${engine}: ${fmt(N)} emails over SMTP to a loopback ${SERVER === 'raw' ? 'minimal SMTP server (no greeting delay)' : 'smtp-server (100 ms greeting delay)'} (AUTH, no parsing), poll interval ${POLL_MS} ms\n`);

  // Set-up (not measured): the users with their email addresses.
  await db.query(
    `INSERT INTO entities (collection, id, properties, inserted_at, updated_at)
     SELECT '$users', 'u' || g, jsonb_build_object('name', 'User ' || g, 'email', 'u' || g || '@example.com'), now(), now()
       FROM generate_series(1, $1::int) g`,
    [N],
  );
  await db.exec('ANALYZE');

  // Baselines: nodemailer alone, the same server, 20 sends in flight.
  // Not pooled: a tenth of the mails (its rate is set by connection set-up, ~5 times slower).
  const plainRate = await baseline(smtp, false, Math.max(SEND_CONCURRENCY, Math.round(N / 10)));
  const stopBaseCpu = await cpuMeter(db, smtp);
  const stopBaseProfile = await profiling('baseline');
  const pooledRate = await baseline(smtp, true);
  await stopBaseProfile();
  const baseCpu = await stopBaseCpu();

  // Herald, phase 1 (not the figure): the triggers (16 in flight) and the run worker queue every message.
  const before = await smtp.received();
  const t0 = Date.now();
  const triggers = Math.ceil(N / PER_TRIGGER);
  const triggerSecs = await loops(triggers, TRIGGER_CONCURRENCY, (i) => herald.engine.trigger('welcome', {
    recipients: Array.from({ length: Math.min(PER_TRIGGER, N - i * PER_TRIGGER) }, (_, k) => `u${i * PER_TRIGGER + k + 1}`),
    data: { code: i },
  }, {}));
  // drain() returns when a pass finds nothing due; runs still in flight are picked up by the next.
  await waitFor(async () => { await herald.worker.drain(); return count(db, 'SELECT count(*)::int AS n FROM deliveries'); }, 'delivery jobs queued');
  const queuedSecs = (Date.now() - t0) / 1000;

  // Phase 2 (the figure): the delivery task sends them.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const t1 = new Date();
  const stopCpu = await cpuMeter(db, smtp);
  counted.reset();
  const stopProfile = await profiling('herald');
  herald.background.start();
  // Polls the shrinking jobs table (a count over the messages would scan them all, 10 times a second).
  await waitFor(async () => N - await count(db, 'SELECT count(*)::int AS n FROM deliveries'), 'deliveries settled');
  const heraldCpu = await stopCpu();
  await stopProfile();
  const statements = counted.snapshot();
  await herald.close();
  loopDelay.disable();
  const got = (await smtp.received()) - before;

  const [span] = await db.query<{ first_sent_ms: number; sent_ms: number }>(
    `SELECT (EXTRACT(EPOCH FROM ((SELECT min(inserted_at) FROM message_events WHERE type = 'message.sent') - $1::timestamptz)) * 1000)::float8 AS first_sent_ms,
            (EXTRACT(EPOCH FROM ((SELECT max(inserted_at) FROM message_events WHERE type = 'message.sent') - $1::timestamptz)) * 1000)::float8 AS sent_ms`,
    [t1],
  );
  const latency = (await db.query<{ ms: number }>(
    `SELECT (EXTRACT(EPOCH FROM (e.inserted_at - $1::timestamptz)) * 1000)::float8 AS ms
       FROM message_events e WHERE e.type = 'message.sent'`,
    [t1],
  )).map((r) => r.ms);
  // Sends per 100 ms between the first and the last: dips show where the window ran dry.
  const buckets = (await db.query<{ n: number }>(
    `WITH b AS (SELECT floor(EXTRACT(EPOCH FROM (inserted_at - $1::timestamptz)) * 10)::int AS k FROM message_events WHERE type = 'message.sent'),
          r AS (SELECT min(k) AS lo, max(k) AS hi FROM b)
     SELECT count(b.k)::int AS n FROM r CROSS JOIN generate_series(r.lo + 1, r.hi - 1) g LEFT JOIN b ON b.k = g GROUP BY g`,
    [t1],
  )).map((r) => r.n);
  const attempts = await count(db, 'SELECT count(*)::int AS n FROM message_delivery_logs');
  const failures = await db.query<{ error: string; n: number; at_ms: number }>(
    `SELECT COALESCE(response->'body'->>'error', '') || ' ' || COALESCE(response->'body'->>'response', '') AS error, count(*)::int AS n,
            (EXTRACT(EPOCH FROM (min(inserted_at) - $1::timestamptz)) * 1000)::float8 AS at_ms
       FROM message_delivery_logs WHERE (response->>'status')::int <> 250 GROUP BY 1 ORDER BY 2 DESC`,
    [t1],
  );
  const sentSecs = span.sent_ms / 1000;
  const rate = N / sentSecs;

  console.log(`queue     ${fmt(triggers)} triggers of ${PER_TRIGGER} recipient(s) in ${triggerSecs.toFixed(2)} s; every delivery job queued by the run worker after ${queuedSecs.toFixed(2)} s`);
  console.log(`herald    delivery task alone: first sent after ${(span.first_sent_ms / 1000).toFixed(2)} s; all ${fmt(N)} sent after ${sentSecs.toFixed(2)} s: ${fmt(rate)} emails/s (${fmt(attempts)} provider calls)`);
  console.log(`          message.sent − delivery start: p50 ${pct(latency, 0.5).toFixed(0)} ms, p99 ${pct(latency, 0.99).toFixed(0)} ms`);
  const median = pct(buckets, 0.5);
  console.log(`          sends per 100 ms: p10 ${pct(buckets, 0.1)}, p50 ${median}, p90 ${pct(buckets, 0.9)}; ${buckets.filter((n) => n < median / 4).length} of ${buckets.length} intervals below a quarter of the median`);
  if (values.timeline) console.log(`          sends per 100 ms in order: ${buckets.join(' ')}`);
  console.log(`          Herald's event loop delay meanwhile: p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms`);
  for (const f of failures) console.log(`          ${fmt(f.n)} failed attempts, the first ${(f.at_ms / 1000).toFixed(1)} s in (retried after the backoff): ${f.error.slice(0, 160)}`);
  console.log(`          SMTP server received ${fmt(got)} mails (expected ${fmt(N)})`);
  console.log(`          ${perMail(heraldCpu)}`);
  const totalStatements = [...statements.values()].reduce((a, b) => a + b, 0);
  console.log(`          statements through Herald's pool meanwhile: ${fmt(totalStatements)} (${(totalStatements / N).toFixed(3)} per mail)`);
  const millis = counted.millis();
  for (const [what, n] of [...statements].sort((a, b) => b[1] - a[1]).slice(0, 6)) console.log(`            ${fmt(n).padStart(6)}  ${((millis.get(what) ?? 0) / n).toFixed(1).padStart(6)} ms each  ${what}`);
  console.log(`baseline  nodemailer alone, pooled transport (${SEND_CONCURRENCY} connections), ${SEND_CONCURRENCY} in flight: ${fmt(pooledRate)} mails/s  ratio ${(rate / pooledRate).toFixed(2)}`);
  console.log(`          ${perMail(baseCpu)}`);
  console.log(`          nodemailer alone, not pooled (one connection per mail), ${SEND_CONCURRENCY} in flight, ${fmt(Math.round(N / 10))} mails: ${fmt(plainRate)} mails/s  ratio ${(rate / plainRate).toFixed(2)}`);
  const ratio = rate / pooledRate;
  report({
    target: 'email',
    engine: engine as 'pglite' | 'postgres',
    figure: `${fmt(rate)} emails/s (delivery task, ${fmt(N)} queued emails, p99 ${pct(latency, 0.99).toFixed(0)} ms after start)`,
    baseline: `nodemailer alone, pooled (${SEND_CONCURRENCY} connections, ${SEND_CONCURRENCY} in flight), same server: ${fmt(pooledRate)} mails/s`,
    ratio,
    goal: 'ratio ≥ 0.8',
    met: ratio >= 0.8 && got === N,
    extra: { count: N, emails_per_s: rate, pooled_baseline_per_s: pooledRate, unpooled_baseline_per_s: plainRate, queue_secs: queuedSecs, provider_calls: attempts, received: got,
      cpu_ms_per_mail: { herald: { node: heraldCpu.nodeMs / N, smtp: heraldCpu.smtpMs / N, pg: heraldCpu.pgMs / N }, baseline: { node: baseCpu.nodeMs / N, smtp: baseCpu.smtpMs / N, pg: baseCpu.pgMs / N } } },
  });
  if (got !== N || latency.length !== N) process.exitCode = 1;
  await cleanup();
  await smtp.close();
}

if (values.serve) serve(values.server ?? 'smtp-server');
else main().catch((err) => { console.error(err); process.exit(1); });
