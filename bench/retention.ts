/**
 * Issue 15, item 7 — retention under load (PostgreSQL): finished runs with their trigger, three
 * run events, one message and two message events each, written set-based with generate_series
 * and spread evenly over the last 31 days, so with a 30-day retention the oldest day is due.
 * Prints the plan of every retention statement (no sequential scan of a big table), then trigger
 * p99 over HTTP (32 keep-alive connections, separate load process) in alternating windows
 * without pruning and while that day is pruned back to back in the same process (a worst case:
 * passes with no interval); medians of each. Goal: p99 while pruning ≤ 1.2 × p99 without.
 * Usage: DATABASE_URL=… npx tsx bench/retention.ts [--runs 1000000] [--seconds 4] [--rounds 4] [--budget-seconds 420]
 */
import pino from 'pino';
import { report, fmt } from './report.js';
import { benchArgs, sized } from './support/args.js';
import { openBenchDb } from './support/db.js';
import { startHerald, feedStep } from './support/herald.js';
import { httpLoad, type LoadResult } from './support/http-load.js';
import { runBench } from './support/lifecycle.js';
import { openPostgres } from '../src/store/pg-adapter.js';
import { createRetentionTask } from '../src/queue/retention-task.js';
import { withRetentionDefaults } from '../src/retention/config.js';
import type { Db } from '../src/store/db.js';
import { RETENTION_SQL } from '../src/store/retention.js';

const { engine, quick, opt } = benchArgs(['runs', 'seconds', 'rounds', 'budget-seconds', 'connections']);
const RUNS = sized(opt('runs'), quick, 100_000, 1_000_000);
const SECONDS = sized(opt('seconds'), quick, 3, 4);
const ROUNDS = sized(opt('rounds'), quick, 2, 4);
const BUDGET_S = sized(opt('budget-seconds'), quick, 120, 420);
const CONNECTIONS = sized(opt('connections'), quick, 32, 32);
const CHUNK = 100_000;
const DAY_MS = 86_400_000;
const SPAN_DAYS = 31;
const BIG_TABLES = ['workflow_triggers', 'recipient_runs', 'run_events', 'messages', 'message_events'];

/** Writes runs [from, to) as finished work spread over the last SPAN_DAYS days. */
async function insertChunk(db: Db, from: number, to: number, total: number, sha: string, feed: string, email: string, now: Date): Promise<void> {
  // g/total spreads the rows evenly over the span; the same expression dates every row of a run.
  const at = `($3::timestamptz - (${SPAN_DAYS} * 86400000.0 * (1 - g::float8 / $4)) * interval '1 millisecond')`;
  const id = (salt: string) => `md5('${salt}' || g)::uuid`;
  await db.transaction(async (tx) => {
    await tx.query(`INSERT INTO workflow_triggers (id, workflow_key, workflow_sha, data, inserted_at)
                    SELECT ${id('t')}, 'hello', $5, '{"n":1}', ${at} FROM generate_series($1::int, $2::int - 1) g`, [from, to, now, total, sha]);
    await tx.query(`INSERT INTO recipient_runs (id, workflow_run_id, workflow_key, workflow_sha, recipient_collection, recipient_id, data, status, position, inserted_at, updated_at)
                    SELECT ${id('r')}, ${id('t')}, 'hello', $5, '$users', 'old-' || (g % 10000), '{"n":1}', 'completed', 1, ${at}, ${at} FROM generate_series($1::int, $2::int - 1) g`, [from, to, now, total, sha]);
    await tx.query(`INSERT INTO run_events (id, recipient_run_id, event, step_ref, step_type, inserted_at)
                    SELECT gen_random_uuid(), ${id('r')}, e, 'feed', 'channel', ${at}
                      FROM generate_series($1::int, $2::int - 1) g, unnest(ARRAY['run_started', 'step_completed', 'run_completed']) e`, [from, to, now, total]);
    // Half on the feed (kept 365 days), half by email (30 days here), as a mixed deployment.
    await tx.query(`INSERT INTO messages (id, channel_id, recipient_collection, recipient_id, workflow_key, workflow_run_id, recipient_run_id, step_ref, status, data, inserted_at, updated_at)
                    SELECT lpad(to_hex(g), 27, '0'), CASE WHEN g % 2 = 0 THEN $5::uuid ELSE $6::uuid END, '$users', 'old-' || (g % 10000), 'hello',
                           ${id('t')}, ${id('r')}, 'feed', 'delivered', '{"n":1}', ${at}, ${at} FROM generate_series($1::int, $2::int - 1) g`, [from, to, now, total, feed, email]);
    await tx.query(`INSERT INTO message_events (id, message_id, type, inserted_at)
                    SELECT gen_random_uuid(), lpad(to_hex(g), 27, '0'), e, ${at}
                      FROM generate_series($1::int, $2::int - 1) g, unnest(ARRAY['message.sent', 'message.delivered']) e`, [from, to, now, total]);
  });
}

runBench(async () => {
  if (engine !== 'postgres') throw new Error('bench/retention.ts measures PostgreSQL (set DATABASE_URL)');
  const bdb = await openBenchDb(engine, { max: 20 });
  const { db } = bdb;
  const { herald, url } = await startHerald(db, [{ key: 'hello', name: 'Hello', steps: [feedStep] }], { listen: true, retention: { enabled: false } });
  const [{ sha }] = await db.query<{ sha: string }>(`SELECT sha FROM workflows WHERE key = 'hello'`);
  const [{ feed }] = await db.query<{ feed: string }>(`SELECT id AS feed FROM channels WHERE key = 'in-app-feed'`);
  const [{ email }] = await db.query<{ email: string }>(
    `INSERT INTO channels (id, key, type, provider, name) VALUES (gen_random_uuid(), 'bench-email', 'email', 'smtp', 'Email') RETURNING id AS email`);

  const now = new Date();
  const started = performance.now();
  let written = 0;
  while (written < RUNS && (performance.now() - started) / 1000 < BUDGET_S) {
    const to = Math.min(RUNS, written + CHUNK);
    await insertChunk(db, written, to, RUNS, sha, feed, email, now);
    written = to;
    console.error(`  ${fmt(written)} runs written (${fmt((performance.now() - started) / 1000, 0)} s)`);
  }
  const insertSeconds = (performance.now() - started) / 1000;
  // Settled tables, as a database that has run a while (autovacuum would otherwise be busy
  // with the fresh rows during the first windows only).
  await db.exec('VACUUM ANALYZE');
  const sizes = Object.fromEntries((await db.query<{ t: string; n: string }>(
    `SELECT relname AS t, n_live_tup AS n FROM pg_stat_user_tables WHERE schemaname = current_schema()
      AND relname IN ('workflow_triggers', 'recipient_runs', 'run_events', 'messages', 'message_events')`)).map((r) => [r.t, Number(r.n)]));
  console.error(`  tables: ${JSON.stringify(sizes)}`);

  // A day's worth is due: everything older than 30 days (rows are spread over 31).
  const options = withRetentionDefaults({ runsMs: 30 * DAY_MS, messagesMs: 30 * DAY_MS, feedMs: 30 * DAY_MS, intervalMs: 0 });
  const cutoff = new Date(now.getTime() - 30 * DAY_MS);
  const [due] = await db.query<{ runs: number; messages: number }>(
    `SELECT (SELECT count(*) FROM recipient_runs WHERE status IN ('completed', 'cancelled') AND updated_at < $1)::int AS runs,
            (SELECT count(*) FROM messages WHERE inserted_at < $1)::int AS messages`, [cutoff]);

  // The plans of the statements that run (EXPLAIN without ANALYZE executes nothing): each
  // must walk an index and stop at the batch size; only the tiny tables may be scanned.
  const plans: [string, string, unknown[]][] = [
    ['runs', RETENTION_SQL.runs, [cutoff, 500]],
    ['triggers', RETENTION_SQL.triggers, [cutoff, 500]],
    ['email messages', RETENTION_SQL.channelMessages, [email, cutoff, 500]],
    ['feed messages', RETENTION_SQL.channelMessages, [feed, cutoff, 500]],
    ['archived messages', RETENTION_SQL.archivedMessages, [feed, cutoff, 500]],
    ['bulk operations', RETENTION_SQL.bulkOperations, [cutoff, 500]],
    ['idempotency keys', RETENTION_SQL.idempotencyKeys, [cutoff, 500]],
    ['rate limits', RETENTION_SQL.rateLimits, [cutoff, 500]],
    ['workflow versions', RETENTION_SQL.workflowVersions, [cutoff, 500]],
  ];
  const seqScans: string[] = [];
  for (const [name, sql, params] of plans) {
    const plan = (await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params)).map((r) => r['QUERY PLAN']).join('\n');
    const scans = [...plan.matchAll(/Seq Scan on (\w+)/g)].map((m) => m[1]).filter((t) => BIG_TABLES.includes(t));
    if (scans.length) seqScans.push(`${name}: ${scans.join(', ')}`);
    console.error(`--- ${name}\n${plan}`);
  }

  const body = JSON.stringify({ recipients: ['ada'], data: { n: 1 } });
  const endpoint = `${url}/v1/workflows/hello/trigger`;
  await httpLoad(endpoint, herald.keys.secret, body, CONNECTIONS, 5); // warm-up (JIT, pools)

  // Pruning in this process, on its own small pool (as a Herald's background worker would).
  // Windows alternate, off then on, so drift (autovacuum, other load on the machine) falls on
  // both sides alike; the pruner runs passes back to back only during the "on" windows.
  const pruneDb = await openPostgres({ connectionString: bdb.baseUrl!, schema: bdb.schema, max: 2 });
  const task = createRetentionTask({ db: pruneDb, clock: { now: () => now }, logger: pino({ level: 'silent' }), options });
  let deleted = 0;
  let passes = 0;
  let pruneMs = 0;
  let done = false;
  const off: LoadResult[] = [];
  const on: LoadResult[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    off.push(await httpLoad(endpoint, herald.keys.secret, body, CONNECTIONS, SECONDS));
    let pruning = true;
    const pruner = (async () => {
      while (pruning && !done) {
        const t = performance.now();
        const n = await task.tick();
        pruneMs += performance.now() - t;
        passes++;
        deleted += n;
        if (n === 0) done = true;
      }
    })();
    on.push(await httpLoad(endpoint, herald.keys.secret, body, CONNECTIONS, SECONDS));
    pruning = false;
    await pruner;
  }
  const deletedMeasured = deleted;
  // Finish the day (unmeasured) so the figures say how long the whole day takes.
  while (!done) { const t = performance.now(); const n = await task.tick(); pruneMs += performance.now() - t; deleted += n; passes++; if (n === 0) done = true; }
  await pruneDb.close();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const before = { p99: median(off.map((r) => r.p99)), perSec: median(off.map((r) => r.perSec)), failures: off.reduce((a, r) => a + r.failures, 0) };
  const during = { p99: median(on.map((r) => r.p99)), perSec: median(on.map((r) => r.perSec)), failures: on.reduce((a, r) => a + r.failures, 0) };

  const p99Ratio = during.p99 / before.p99;
  const failures = before.failures + during.failures;
  if (failures > 0) throw new Error(`${failures} triggers failed`);
  report({
    target: 'retention',
    engine,
    figure: `trigger p99 ${fmt(before.p99, 1)} ms without pruning, ${fmt(during.p99, 1)} ms while pruning (medians of ${ROUNDS} alternating ${SECONDS} s windows); ${fmt(written)} runs in the database, a day's worth (${fmt(due.runs)} runs, ${fmt(due.messages)} messages, ${fmt(deleted)} parent rows) pruned in ${fmt(pruneMs / 1000, 1)} s of passes`,
    baseline: `trigger p99 without pruning ${fmt(before.p99, 1)} ms`,
    ratio: before.p99 / during.p99,
    goal: 'p99 while pruning ≤ 1.2 × p99 without (ratio ≥ 0.83)',
    met: p99Ratio <= 1.2,
    extra: {
      runs: written, runs_asked: RUNS, insert_seconds: insertSeconds, tables: sizes, due_runs: due.runs, due_messages: due.messages,
      p99_before_ms: before.p99, p99_during_ms: during.p99, p99_ratio: p99Ratio,
      p99_off_windows_ms: off.map((r) => r.p99), p99_on_windows_ms: on.map((r) => r.p99),
      per_sec_before: before.perSec, per_sec_during: during.perSec,
      deleted_while_measured: deletedMeasured, deleted_total: deleted, passes, prune_seconds: pruneMs / 1000,
      seq_scans: seqScans, seconds: SECONDS, connections: CONNECTIONS,
    },
  });
});
