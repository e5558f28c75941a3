/**
 * Fan-out (issue 12, target 3): an object with 100,000 subscribers is triggered once and Herald
 * turns it into 100,000 rendered in-app feed messages (fan-out pages -> recipient runs ->
 * messages), with the fan-out and run workers running as in production. Baseline, same run,
 * same database: one multi-row INSERT ... SELECT of as many message rows (the floor for writing
 * that many rows at all). Goal: ≥ 10,000 messages/s, each subscriber exactly once.
 * Usage: npm run bench:fanout [-- --engine pglite|postgres] [--quick] [--subscribers 100000]
 */
import pino from 'pino';
import { createHerald } from '../src/herald.js';
import { writeWorkflowsDir } from '../test/support/harness.js';
import { benchArgs, sized } from './support/args.js';
import { count, openBenchDb } from './support/db.js';
import { machineBusySeconds } from './support/machine-cpu.js';
import { defer, runBench } from './support/lifecycle.js';
import { fmt, report } from './report.js';

const GOAL_PER_SEC = 10_000;

const announce = {
  key: 'announce',
  name: 'Announce',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'News for **{{ recipient.id }}** from {{ recipient.subscription.object.id }}' } }],
};

runBench(async () => {
  const { engine, quick, opt } = benchArgs(['subscribers']);
  // PGlite (one WASM thread for the API, the workers and the database) gets a fifth of the size.
  const N = sized(opt('subscribers'), quick, engine === 'pglite' ? 2_000 : 5_000, engine === 'pglite' ? 20_000 : 100_000);
  const { db } = await openBenchDb(engine);
  const herald = await createHerald({ db, logger: pino({ level: 'silent' }), workflowsDir: writeWorkflowsDir([announce]), pollIntervalMs: 50 });
  defer(() => herald.close());
  console.log(`fan-out on ${engine}: one object with ${fmt(N)} subscribers`);

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
  const baselinePerSec = N / ((performance.now() - t0) / 1000);

  // Herald: one trigger, then the workers (as `npm start` runs them) until every message exists.
  herald.background.start();
  herald.worker.start();
  t0 = performance.now();
  const cpu0 = machineBusySeconds();
  await herald.engine.trigger('announce', { recipients: [{ id: 'apollo', collection: 'projects' }] }, {});
  const ackMs = performance.now() - t0;
  let expandedAt = 0;
  // Looks that cost next to nothing (partial and tiny indexes), so the watching does not take the
  // CPU it measures (counting the messages 10 times a second took ~6 % of a core at 100k); the
  // messages are counted only once nothing is left to do.
  for (;;) {
    await new Promise((r) => setTimeout(r, 50));
    if (!expandedAt && (await count(db, `SELECT count(*)::int AS n FROM fanouts WHERE status = 'pending'`)) === 0) expandedAt = performance.now();
    if (!expandedAt) continue;
    const busy = await count(db, `SELECT ((SELECT count(*) FROM fanout_pages) + (SELECT count(*) FROM recipient_runs WHERE status IN ('queued', 'processing')))::int AS n`);
    if (busy === 0 && (await count(db, 'SELECT count(*)::int AS n FROM messages')) >= N + 1) break;
  }
  // The last page's commit can mark the fan-out done and complete the messages between two looks.
  if (!expandedAt) expandedAt = performance.now();
  const totalSecs = (performance.now() - t0) / 1000;
  const cpu1 = machineBusySeconds();
  // Machine CPU per message (all processes, both cores): what 10,000/s has to fit in.
  const cpuUsPerMessage = cpu0 === null || cpu1 === null ? null : ((cpu1 - cpu0) * 1e6) / (N + 1);
  await herald.worker.stop();
  await herald.background.stop();
  const dupes = await count(db, `SELECT count(*)::int AS n FROM (SELECT recipient_id FROM messages GROUP BY recipient_id HAVING count(*) > 1) d`);
  const perSec = (N + 1) / totalSecs;
  report({
    target: 'fanout',
    engine,
    figure: `${fmt(N)} subscribers → ${fmt(N + 1)} feed messages in ${totalSecs.toFixed(1)} s = ${fmt(perSec)} messages/s (ack ${ackMs.toFixed(0)} ms${cpuUsPerMessage === null ? '' : `, ${cpuUsPerMessage.toFixed(0)} µs of machine CPU per message`}, runs created after ${((expandedAt - t0) / 1000).toFixed(1)} s, ${dupes} duplicates)`,
    baseline: `one multi-row INSERT of ${fmt(N)} message rows: ${fmt(baselinePerSec)} rows/s`,
    ratio: perSec / baselinePerSec,
    goal: `≥ ${fmt(GOAL_PER_SEC)} messages/s, none twice`,
    met: perSec >= GOAL_PER_SEC && dupes === 0,
    extra: { subscribers: N, seconds: totalSecs, cpuUsPerMessage, ackMs, expandSeconds: (expandedAt - t0) / 1000, duplicates: dupes },
  });
  if (dupes > 0) throw new Error(`${dupes} subscribers got more than one message`);
});
