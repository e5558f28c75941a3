/**
 * `npm run bench`: runs every bench script as its own process (`node --import tsx bench/X.ts
 * --engine E`) on PGlite and on PostgreSQL, collects their `BENCH {json}` lines (bench/report.ts)
 * and prints one table — target | engine | figure | baseline (same run) | ratio | goal | met —
 * also written as markdown to bench/results/latest.md. A script that fails or prints nothing
 * gets a "failed: <reason>" row; its full output is kept in bench/results/<engine>-<script>.log.
 *
 * PostgreSQL: DATABASE_URL if set, otherwise a fresh database `herald_bench_<ts>` created on the
 * local server (postgres://postgres@127.0.0.1:5432) and dropped at the end; if that server cannot
 * be reached the run says so and reports PGlite only.
 * Usage: npm run bench [-- --only triggers,worker] [--engine pglite|postgres] [--quick]
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { BenchResult } from './report.js';
import { HERALD_NODE_FLAGS } from './support/node-flags.js';
import { failedRow, markdownTable, rowOf, textTable, type Row } from './support/table.js';

/** Each script and the targets it reports, in the order of issue 12's targets. */
const SCRIPTS: { name: string; targets: string[] }[] = [
  { name: 'triggers', targets: ['trigger'] },
  { name: 'worker', targets: ['worker'] },
  { name: 'fanout', targets: ['fanout'] },
  { name: 'timers', targets: ['timers-delay', 'timers-batch'] },
  { name: 'cancel', targets: ['cancel', 'race'] },
  { name: 'email', targets: ['email'] },
  { name: 'sockets', targets: ['realtime'] },
  { name: 'pglite-responsiveness', targets: ['pglite-api'] },
  // Issue 14: the dashboard's runs page over 100,000 runs, in headless Chromium.
  { name: 'dashboard', targets: ['dashboard-runs'] },
];
const ENGINES = ['postgres', 'pglite'] as const;
type Engine = (typeof ENGINES)[number];

const { values } = parseArgs({ options: { only: { type: 'string' }, engine: { type: 'string' }, quick: { type: 'boolean' } } });
const quick = values.quick === true;
const only = values.only ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : null;
for (const name of only ?? []) if (!SCRIPTS.some((s) => s.name === name)) throw new Error(`--only: unknown script "${name}" (${SCRIPTS.map((s) => s.name).join(', ')})`);
if (values.engine && !ENGINES.includes(values.engine as Engine)) throw new Error(`--engine must be pglite or postgres, got "${values.engine}"`);
const engines: Engine[] = values.engine ? [values.engine as Engine] : [...ENGINES];
const scripts = SCRIPTS.filter((s) => !only || only.includes(s.name));
/** Per script and engine: a stuck script is stopped and shown as failed, not waited for. */
const TIMEOUT_MS = quick ? 150_000 : 900_000;
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** DATABASE_URL, or a fresh database on the local server (with its drop), or why there is none. */
async function postgresTarget(): Promise<{ url: string; drop?: () => Promise<void> } | { unavailable: string }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL };
  const server = 'postgres://postgres@127.0.0.1:5432';
  const admin = new pg.Client({ connectionString: `${server}/postgres`, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (err) {
    return { unavailable: `PostgreSQL at ${server} is unreachable (${err instanceof Error ? err.message : err})` };
  }
  const name = `herald_bench_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    url: `${server}/${name}`,
    drop: async () => {
      const c = new pg.Client({ connectionString: `${server}/postgres` });
      await c.connect();
      try { await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); } finally { await c.end(); }
    },
  };
}

interface ScriptRun { results: BenchResult[]; failure: string | null }
/** The process group of the script running now. */
let current: number | undefined;

/** Runs one script; BENCH lines are parsed, everything else goes to its log file. */
function runScript(name: string, engine: Engine, env: NodeJS.ProcessEnv, withQuick: boolean): Promise<ScriptRun & { unknownQuick: boolean }> {
  const args = [...HERALD_NODE_FLAGS, '--import', 'tsx', `bench/${name}.ts`, '--engine', engine, ...(withQuick ? ['--quick'] : [])];
  const log = createWriteStream(`${RESULTS}${engine}-${name}.log`);
  log.write(`$ node ${args.join(' ')}\n`);
  // Its own process group, so a timeout can stop the script's children too.
  const child = spawn(process.execPath, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  current = child.pid;
  const results: BenchResult[] = [];
  let lastErr = '';
  let buffered = '';
  let unknownQuick = false;
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      log.write(`${line}\n`);
      if (!line.startsWith('BENCH ')) continue;
      try { results.push(JSON.parse(line.slice(6)) as BenchResult); } catch { lastErr = `unparsable BENCH line: ${line.slice(0, 80)}`; }
    }
  });
  child.stderr.on('data', (d: Buffer) => {
    const text = d.toString();
    log.write(text);
    if (/unknown option '--quick'/i.test(text)) unknownQuick = true;
    const meaningful = text.split('\n').map((l) => l.trim()).filter((l) => l && !/^at |Deprecation|--trace-warnings|^\^|^}|^{/.test(l));
    if (meaningful.length > 0) lastErr = meaningful[0].slice(0, 160);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* gone */ }
    setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 10_000).unref();
  }, TIMEOUT_MS);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      current = undefined;
      log.end();
      let failure: string | null = null;
      if (timedOut) failure = `timed out after ${TIMEOUT_MS / 1000} s`;
      else if (code !== 0) failure = `exit ${code ?? signal}${lastErr ? `: ${lastErr}` : ''}`;
      resolve({ results, failure, unknownQuick });
    });
  });
}

async function main() {
  mkdirSync(RESULTS, { recursive: true });
  const notes: string[] = [];
  const rows: Row[] = [];
  const add = (row: Row) => { rows.push(row); };
  const started = Date.now();

  let pgTarget: Awaited<ReturnType<typeof postgresTarget>> | null = null;
  if (engines.includes('postgres')) {
    pgTarget = await postgresTarget();
    if ('unavailable' in pgTarget) { notes.push(`${pgTarget.unavailable}: PGlite only.`); console.error(notes.at(-1)); }
  }
  // Ctrl-C: the running script (its own process group) cleans up, then the database goes.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      if (current) try { process.kill(-current, 'SIGTERM'); } catch { /* gone */ }
      setTimeout(() => {
        const drop = pgTarget && 'drop' in pgTarget && pgTarget.drop ? pgTarget.drop() : Promise.resolve();
        void drop.catch(() => {}).finally(() => process.exit(130));
      }, 3000);
    });
  }

  try {
    for (const engine of engines) {
      if (engine === 'postgres' && (!pgTarget || 'unavailable' in pgTarget)) continue;
      const env: NodeJS.ProcessEnv = { ...process.env, ...(quick ? { BENCH_QUICK: '1' } : {}) };
      if (engine === 'postgres' && pgTarget && 'url' in pgTarget) env.DATABASE_URL = pgTarget.url;
      for (const s of scripts) {
        const t0 = Date.now();
        console.error(`▶ ${s.name} on ${engine}${quick ? ' (quick)' : ''} …`);
        let run = await runScript(s.name, engine, env, quick);
        if (run.unknownQuick) {
          // A smoke run must stay short: a script that does not take --quick yet is not run at full size.
          run = { results: [], failure: 'does not take --quick yet (run without --quick, or bench:<name>)', unknownQuick: true };
        }
        const seen = new Set<string>();
        for (const r of run.results) { add(rowOf(r)); seen.add(r.target); }
        if (run.results.length === 0) add(failedRow(s.targets.join(', '), engine, run.failure ?? 'printed no BENCH line'));
        else if (run.failure) {
          for (const t of s.targets.filter((x) => !seen.has(x))) add(failedRow(t, engine, run.failure));
          notes.push(`bench/${s.name}.ts on ${engine}: ${run.failure} (after reporting ${[...seen].join(', ')}).`);
        }
        console.error(`  ${s.name} on ${engine}: ${run.failure ?? 'ok'} (${Math.round((Date.now() - t0) / 1000)} s)`);
      }
    }
  } finally {
    if (pgTarget && 'drop' in pgTarget && pgTarget.drop) await pgTarget.drop().catch((err) => console.error(`could not drop the bench database: ${err.message}`));
  }

  // Grouped by target in the issue's order, PostgreSQL before PGlite.
  const order = (r: Row) => { const i = SCRIPTS.findIndex((s) => s.targets.some((t) => r.target.split(', ').includes(t))); return i < 0 ? SCRIPTS.length : i; };
  const sorted = [...rows].sort((a, b) => order(a) - order(b) || (ENGINES.indexOf(a.engine as Engine) - ENGINES.indexOf(b.engine as Engine)));
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  const load = loadavg().map((x) => x.toFixed(1)).join(', ');
  console.log(`\nHerald benchmarks${quick ? ' (quick sizes)' : ''} — ${new Date().toISOString()}, ${minutes} min, load average ${load}\n`);
  console.log(textTable(sorted));
  for (const n of notes) console.log(`note: ${n}`);
  writeFileSync(`${RESULTS}latest.md`, [
    `# Herald benchmarks${quick ? ' (quick sizes)' : ''}`, '',
    `${new Date().toISOString()} · ${minutes} min · load average ${load} · \`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\``, '',
    markdownTable(sorted), '', ...notes.map((n) => `- ${n}`), '',
  ].join('\n'));
  console.log(`\n(written to bench/results/latest.md; each script's output in bench/results/<engine>-<script>.log)`);
}

main().catch((err) => { console.error(err); process.exit(1); });
