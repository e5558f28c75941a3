/**
 * Fan-out benchmark: an object with 100,000 subscribers is triggered once and Herald turns it
 * into 100,000 rendered in-app feed messages (fan-out pages -> recipient runs -> messages), with
 * the fan-out and run workers running as in production. Baseline, same run, same database:
 * inserting 100,000 message rows with one multi-row INSERT ... SELECT (the floor for writing
 * that many rows at all).
 * Usage: npm run bench:fanout [-- --engine pglite|postgres] [--subscribers 100000]
 */
import { parseArgs } from 'node:util';
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

const { values } = parseArgs({ options: { engine: { type: 'string' }, subscribers: { type: 'string' } } });
const engine = values.engine ?? (process.env.DATABASE_URL ? 'postgres' : 'pglite');
const N = Number(values.subscribers ?? 100_000);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const announce = {
  key: 'announce',
  name: 'Announce',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'News for **{{ recipient.id }}** from {{ recipient.subscription.object.id }}' } }],
};

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

async function count(db: Db, sql: string): Promise<number> {
  return (await db.query<{ n: number }>(sql))[0].n;
}

async function main() {
  const { db, cleanup } = await openDb();
  const herald = await createHerald({ db, logger: pino({ level: 'silent' }), workflowsDir: writeWorkflowsDir([announce]), pollIntervalMs: 50 });
  console.log(`Fan-out benchmark on ${engine}: one object with ${fmt(N)} subscribers\n`);

  // Set-up (not measured): the subscribers and their subscriptions.
  await db.query(`INSERT INTO entities (collection, id, properties, inserted_at, updated_at) VALUES ('projects', 'apollo', '{}', now(), now())`);
  await db.query(`INSERT INTO entities (collection, id, properties, inserted_at, updated_at) SELECT '$users', 'u' || g, '{}', now(), now() FROM generate_series(1, $1::int) g`, [N]);
  await db.query(`INSERT INTO subscriptions (object_collection, object_id, recipient_collection, recipient_id, inserted_at, updated_at)
                  SELECT 'projects', 'apollo', '$users', 'u' || g, now(), now() FROM generate_series(1, $1::int) g`, [N]);
  await db.exec('ANALYZE');

  // Baseline: the same number of message rows (same table shape and indexes) in one statement.
  await db.exec('CREATE TABLE bench_messages (LIKE messages INCLUDING ALL)');
  const [channel] = await db.query<{ id: string }>(`SELECT id FROM channels WHERE key = 'in-app-feed'`);
  let t0 = performance.now();
  await db.query(
    `INSERT INTO bench_messages (id, channel_id, recipient_collection, recipient_id, workflow_key, status, data, content, inserted_at, updated_at)
     SELECT lpad(g::text, 27, '0'), $1, '$users', 'u' || g, 'announce', 'delivered', '{}', jsonb_build_object('body', 'News for u' || g), now(), now()
       FROM generate_series(1, $2::int) g`,
    [channel.id, N],
  );
  const baselineSecs = (performance.now() - t0) / 1000;

  // Herald: one trigger, then the workers (as `npm start` runs them) until every message exists.
  herald.background.start();
  herald.worker.start();
  t0 = performance.now();
  await herald.engine.trigger('announce', { recipients: [{ id: 'apollo', collection: 'projects' }] }, {});
  const ackMs = performance.now() - t0;
  let expandedAt = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    if (!expandedAt && (await count(db, `SELECT count(*)::int AS n FROM fanouts WHERE status = 'pending'`)) === 0) expandedAt = performance.now();
    if ((await count(db, 'SELECT count(*)::int AS n FROM messages')) >= N + 1) break;
  }
  const totalSecs = (performance.now() - t0) / 1000;
  await herald.close();
  const [dupes] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM (SELECT recipient_id FROM messages GROUP BY recipient_id HAVING count(*) > 1) d`);

  console.log(`fan-out   trigger acknowledged in ${ackMs.toFixed(1)} ms; all ${fmt(N)} subscribers expanded into runs after ${((expandedAt - t0) / 1000).toFixed(2)} s`);
  console.log(`          ${fmt(N + 1)} feed messages rendered and stored in ${totalSecs.toFixed(2)} s: ${fmt((N + 1) / totalSecs)} messages/s (${dupes.n} recipients with more than one)`);
  console.log(`          baseline one multi-row INSERT of ${fmt(N)} message rows: ${baselineSecs.toFixed(2)} s (${fmt(N / baselineSecs)} rows/s)  ratio ${((N / totalSecs) / (N / baselineSecs)).toFixed(2)}`);
  if (dupes.n > 0) process.exitCode = 1;
  await cleanup();
}

main().catch((err) => { console.error(err); process.exit(1); });
