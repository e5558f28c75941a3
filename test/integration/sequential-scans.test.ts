/**
 * No hot query scans a hot table sequentially once the tables have grown (issue 12). Herald keeps
 * the planner's statistics current itself (store/table-stats.ts: the run worker re-analyzes
 * tables that grew, whether autovacuum runs or not) and writes no foreign-key check whose cached
 * plan could scan a table (migrations/015). PostgreSQL only: PGlite does not flush the
 * pg_stat counters this test reads.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analyzeGrownTables } from '../../src/store/table-stats.js';
import { http, startTestHerald, type TestHerald } from '../support/harness.js';
import { idleTableCounters } from '../support/pg-counters.js';
import { LoopbackSmtp } from '../support/smtp-server.js';

const feedStep = { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hi **{{ recipient.id }}**' } };
const hello = { key: 'hello', name: 'Hello', steps: [feedStep] };
const mail = { key: 'mail', name: 'Mail', steps: [{ ref: 'email', type: 'channel', channel_key: 'postal', template: { subject: 'Hello', text_body: 'Hello {{ recipient.id }}' } }] };
const later = { key: 'later', name: 'Later', steps: [{ ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'hours', value: 1 } } }, feedStep] };

/** The tables every trigger, claim, checkpoint, feed read and cancel touches. */
const HOT_TABLES = ['recipient_runs', 'run_events', 'messages', 'message_events', 'entities'];

const recipients = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe.skipIf(!process.env.DATABASE_URL)('sequential scans on hot tables (postgres)', () => {
  let t: TestHerald;
  let smtp: LoopbackSmtp | undefined;
  afterEach(async () => {
    await t.close();
    await smtp?.close();
    smtp = undefined;
  });

  /** Sequential scans per table, as `idleTableCounters` reads them (it waits for the counters). */
  const seqScans = async () => Object.fromEntries(Object.entries(await idleTableCounters(t.db)).map(([table, c]) => [table, c.seq_scan]));
  /** Sequential scans of each of `tables` between two readings of `seqScans`. */
  const scansBetween = (before: Record<string, number>, after: Record<string, number>, tables: string[]) =>
    Object.fromEntries(tables.map((table) => [table, (after[table] ?? 0) - (before[table] ?? 0)]));
  const noScans = (tables: string[]) => Object.fromEntries(tables.map((table) => [table, 0]));

  /** 30,000 older messages of `workflowKey` on `channel`, each with one event (past traffic). */
  const growMessages = async (channel: string, workflowKey: string, status: string) => {
    await t.db.query(`INSERT INTO messages (id, channel_id, recipient_collection, recipient_id, workflow_key, status, inserted_at, updated_at)
                      SELECT 'old' || lpad(g::text, 24, '0'), $1, '$users', 'old-' || g, $2, $3, now(), now() FROM generate_series(1, 30000) g`, [channel, workflowKey, status]);
    await t.db.query(`INSERT INTO message_events (id, message_id, type, inserted_at)
                      SELECT gen_random_uuid(), 'old' || lpad(g::text, 24, '0'), 'message.sent', now() FROM generate_series(1, 30000) g`);
  };

  it('triggers, claims, checkpoints, feed reads, status updates and cancels use indexes once the tables have grown', async () => {
    t = await startTestHerald('postgres', { workflows: [hello, later], rateLimits: { perKey: 0, perUser: 0 } });
    // Grow the tables as a day of traffic would: 1,000 runs through the API, and 30,000 older
    // users, runs and messages written directly (past traffic; at this size an index lookup
    // beats a scan for every hot query by far, so a sequential scan is a wrong plan).
    await t.knock.workflows.trigger('hello', { recipients: recipients('grow-', 1000).map((id) => ({ id, name: id })) });
    await t.drain();
    const [{ channel, trigger }] = await t.db.query<{ channel: string; trigger: string }>(
      `SELECT channel_id AS channel, workflow_run_id AS trigger FROM messages LIMIT 1`);
    await t.db.query(`INSERT INTO entities (collection, id, properties, inserted_at, updated_at)
                      SELECT '$users', 'old-' || g, '{}', now(), now() FROM generate_series(1, 30000) g`);
    await t.db.query(`INSERT INTO recipient_runs (id, workflow_run_id, workflow_key, workflow_sha, recipient_collection, recipient_id, status, inserted_at, updated_at)
                      SELECT gen_random_uuid(), $1, 'hello', 'old', '$users', 'old-' || g, 'completed', now(), now() FROM generate_series(1, 30000) g`, [trigger]);
    await growMessages(channel, 'hello', 'delivered');
    await t.db.query(`INSERT INTO run_events (id, recipient_run_id, event, inserted_at)
                      SELECT gen_random_uuid(), gen_random_uuid(), 'run_completed', now() FROM generate_series(1, 30000) g`);
    // What a running worker does every few seconds: the tables grew, so they are analyzed.
    const analyzed = await analyzeGrownTables(t.db);
    expect(analyzed).toEqual(expect.arrayContaining(['recipient_runs', 'messages', 'run_events', 'message_events', 'entities']));

    const before = await seqScans();

    // The hot paths, through the public API.
    for (let i = 0; i < 20; i++) await t.knock.workflows.trigger('hello', { recipients: [`grow-${i}`], data: { n: i } });
    await t.knock.workflows.trigger('later', { recipients: recipients('grow-', 50), cancellation_key: 'order-1' });
    await t.drain();
    const feed = await http(t, 'GET', '/v1/users/grow-1/feeds/in-app-feed');
    expect(feed.status).toBe(200);
    expect(feed.body.entries.length).toBe(2);
    const messageId = feed.body.entries[0].id as string;
    expect((await http(t, 'PUT', `/v1/messages/${messageId}/read`)).status).toBe(200);
    expect((await http(t, 'GET', `/v1/messages/${messageId}/events`)).status).toBe(200);
    expect((await http(t, 'GET', '/v1/users/grow-1/messages')).status).toBe(200);
    await t.knock.workflows.cancel('later', { cancellation_key: 'order-1' });

    const after = await seqScans();
    const runs = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM recipient_runs WHERE cancellation_key = 'order-1' AND status = 'cancelled'`);
    expect(runs[0].n).toBe(50);
    expect(scansBetween(before, after, HOT_TABLES)).toEqual(noScans(HOT_TABLES));
  }, 180_000);

  it('delivery settles, a statement prepared while the tables were small, use indexes once the tables have grown', async () => {
    smtp = await new LoopbackSmtp('pw').start();
    t = await startTestHerald('postgres', {
      workflows: [mail],
      channels: [{ key: 'postal', type: 'email', provider: 'smtp', settings: smtp.settings() }],
      rateLimits: { perKey: 0, perUser: 0 },
    });
    const send = async (ids: string[]) => {
      for (const id of ids) {
        await t.knock.users.update(id, { email: `${id}@example.com` } as any);
        await t.knock.workflows.trigger('mail', { recipients: [id] });
        await t.drain();
      }
    };
    // One email at a time while `messages` holds a handful of rows: the settle statement is
    // prepared (store/deliveries.ts), and after five runs on a connection PostgreSQL may keep a
    // generic plan made from these small tables.
    await send(recipients('early-', 8));
    const [{ channel }] = await t.db.query<{ channel: string }>(`SELECT channel_id AS channel FROM messages LIMIT 1`);
    await growMessages(channel, 'mail', 'sent');
    // The worker's growth check analyzes them, which also invalidates plans cached from the old
    // statistics.
    expect(await analyzeGrownTables(t.db)).toEqual(expect.arrayContaining(['messages', 'message_events']));

    const before = await seqScans();
    await send(recipients('late-', 8));
    const after = await seqScans();

    expect(smtp.received).toHaveLength(16);
    const statuses = await t.db.query<{ status: string }>(`SELECT status FROM messages WHERE recipient_id LIKE 'late-%'`);
    expect(statuses.map((r) => r.status)).toEqual(Array(8).fill('sent'));
    expect(scansBetween(before, after, ['messages', 'message_events'])).toEqual(noScans(['messages', 'message_events']));
  }, 180_000);
});
