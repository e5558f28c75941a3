/**
 * /metrics scrape time with 1 million runs in PostgreSQL (issue 15): inserts the runs set-based
 * (generate_series) into the schema `bench_metrics` of DATABASE_URL once, then times 30 scrapes
 * over HTTP and prints the due-runs statement's plan (it must not be a Seq Scan).
 *   DATABASE_URL=postgres://... npx tsx bench/metrics-scrape.ts [finished|all-due]
 * `finished`: 990,000 completed runs and 10,000 due; `all-due`: all 1,000,000 due (a backlog).
 */
import pino from 'pino';
import { openPostgres } from '../src/store/pg-adapter.js';
import { createHerald } from '../src/herald.js';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('set DATABASE_URL');
const mode = process.argv[2] ?? 'finished';
const db = await openPostgres({ connectionString: url, schema: 'bench_metrics', max: 16 });
const herald = await createHerald({ db, logger: pino({ level: 'warn' }), metrics: { enabled: true } });
const [{ n }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM recipient_runs');
if (n === 0) {
  const started = Date.now();
  await db.query(`INSERT INTO recipient_runs (id, workflow_run_id, workflow_key, workflow_sha, recipient_collection, recipient_id, status, wake_at, inserted_at, updated_at)
    SELECT gen_random_uuid(), gen_random_uuid(), 'bench', 'sha', '$users', 'u' || g,
           CASE WHEN g % 100 = 0 THEN 'queued' ELSE 'completed' END,
           CASE WHEN g % 100 = 0 THEN now() - make_interval(secs => g / 100.0) END,
           now() - make_interval(secs => g / 10.0), now()
      FROM generate_series(1, 1000000) g`);
  await db.exec('VACUUM ANALYZE recipient_runs');
  console.log(`inserted 1,000,000 runs in ${Date.now() - started} ms`);
}
const dueSet = mode === 'all-due' ? `status = 'queued', wake_at = inserted_at` : `status = CASE WHEN right(recipient_id, 2) = '00' THEN 'queued' ELSE 'completed' END,
  wake_at = CASE WHEN right(recipient_id, 2) = '00' THEN inserted_at END`;
await db.query(`UPDATE recipient_runs SET ${dueSet}`);
await db.exec('VACUUM ANALYZE recipient_runs');

await herald.app.listen({ port: 0, host: '127.0.0.1' });
const { port } = herald.app.server.address() as { port: number };
const times: number[] = [];
let due = '';
for (let i = 0; i < 30; i++) {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${herald.keys.secret}` } });
  const text = await res.text();
  times.push(performance.now() - t0);
  due = text.split('\n').find((l) => l.startsWith('herald_due_runs ')) ?? '';
}
times.sort((a, b) => a - b);
console.log(`${mode}: ${due}; scrape median ${times[15].toFixed(1)} ms, p90 ${times[27].toFixed(1)} ms, max ${times[29].toFixed(1)} ms`);
const plan = await db.query(`EXPLAIN (ANALYZE, BUFFERS) SELECT count(*)::int AS count, min(wake_at) AS oldest FROM recipient_runs
  WHERE status IN ('queued', 'processing', 'paused') AND wake_at <= $1`, [new Date()]);
console.log(plan.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n'));
await herald.close();
await db.close();
