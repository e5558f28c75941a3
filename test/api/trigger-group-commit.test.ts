/*
 * Group commit: concurrent triggers share one transaction, yet each keeps its own outcome — a
 * stale workflow, a duplicate Idempotency-Key or an invalid inline entity concerns only its own
 * trigger — and a COMMIT whose outcome is unknown is reported to every trigger of the group.
 */
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { upsertWorkflow } from '../../src/store/workflows.js';

const step = { ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'minutes', value: 10 } } };
const hello = { key: 'hello', name: 'Hello', steps: [step] };
const other = { key: 'other', name: 'Other', steps: [step] };

/** Fires all requests at once, so they reach the engine in the same few event-loop turns. */
const burst = (t: TestHerald, calls: { key: string; body: unknown; idem?: string }[]) =>
  Promise.all(calls.map((c) => http(t, 'POST', `/v1/workflows/${c.key}/trigger`, c.body, c.idem ? { 'idempotency-key': c.idem } : {})));

const runsOf = async (t: TestHerald, workflow: string) =>
  (await http(t, 'GET', `/v1/workflow_recipient_runs?workflow=${workflow}`)).body.items as { recipient: unknown; workflow_run_id: string }[];

describe.each(engines)('trigger group commit (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows: [hello, other] }); });
  afterEach(async () => { await t.close(); });

  it('a trigger whose workflow was deactivated meanwhile fails alone; the concurrent ones commit', async () => {
    // Both versions are now cached as active; then `hello` is deactivated behind the cache's back.
    await burst(t, [{ key: 'hello', body: { recipients: ['warm'] } }, { key: 'other', body: { recipients: ['warm'] } }]);
    await upsertWorkflow(t.db, { ...hello, active: false } as any, null, t.clock.now());
    const calls = Array.from({ length: 12 }, (_, i) => ({ key: i % 3 === 0 ? 'hello' : 'other', body: { recipients: [`u${i}`] } }));
    const answers = await burst(t, calls);
    answers.forEach((res, i) => {
      if (calls[i].key === 'hello') expect(res.body.code).toBe('workflow_inactive');
      else expect(res.status).toBe(200);
    });
    expect((await runsOf(t, 'other')).map((r) => r.recipient).sort()).toEqual(['u1', 'u10', 'u11', 'u2', 'u4', 'u5', 'u7', 'u8', 'warm']);
    expect((await runsOf(t, 'hello')).map((r) => r.recipient)).toEqual(['warm']);
  });

  it('two concurrent requests with the same Idempotency-Key: one run, the other replays it; the rest commit', async () => {
    const calls = [
      { key: 'hello', body: { recipients: ['ada'] }, idem: 'same' },
      { key: 'hello', body: { recipients: ['bob'] }, idem: 'k-bob' },
      { key: 'hello', body: { recipients: ['ada'] }, idem: 'same' },
      { key: 'hello', body: { recipients: ['cy'] } },
      { key: 'hello', body: { recipients: ['dee'] }, idem: 'k-dee' },
    ];
    const answers = await burst(t, calls);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers[0].body.workflow_run_id).toBe(answers[2].body.workflow_run_id);
    expect([answers[0], answers[2]].map((a) => a.headers.get('idempotent-replayed')).sort()).toEqual([null, 'true']);
    expect(new Set(answers.map((a) => a.body.workflow_run_id)).size).toBe(4);
    expect((await runsOf(t, 'hello')).map((r) => r.recipient).sort()).toEqual(['ada', 'bob', 'cy', 'dee']);
  });

  it('the same Idempotency-Key with a different body in the same burst is refused alone', async () => {
    const answers = await burst(t, [
      { key: 'hello', body: { recipients: ['ada'] }, idem: 'clash' },
      { key: 'hello', body: { recipients: ['bob'] } },
      { key: 'hello', body: { recipients: ['eve'] }, idem: 'clash' },
    ]);
    expect(answers[1].status).toBe(200);
    const [won, lost] = answers[0].status === 200 ? [answers[0], answers[2]] : [answers[2], answers[0]];
    expect(won.status).toBe(200);
    expect(lost.status).toBe(422);
    expect(lost.body.errors[0].field).toBe('Idempotency-Key');
    expect((await runsOf(t, 'hello'))).toHaveLength(2);
  });

  it('an invalid inline recipient fails only its own trigger, and none of its entities is written', async () => {
    const calls = [
      { key: 'hello', body: { recipients: [{ id: 'ann', name: 'Ann' }] } },
      { key: 'hello', body: { recipients: [{ id: 'bad-1', name: 'Bad' }, { id: 'bad-2', created_at: 'not a date' }] } },
      { key: 'other', body: { recipients: [{ id: 'cat', name: 'Cat' }] } },
      { key: 'hello', body: { recipients: ['dan'] } },
    ];
    const answers = await burst(t, calls);
    expect(answers.map((a) => a.status)).toEqual([200, 422, 200, 200]);
    expect(answers[1].body.errors[0].field).toBe('created_at');
    expect((await runsOf(t, 'hello')).map((r) => r.recipient).sort()).toEqual(['ann', 'dan']);
    expect((await runsOf(t, 'other')).map((r) => r.recipient)).toEqual(['cat']);
    expect((await http(t, 'GET', '/v1/users/ann')).body.name).toBe('Ann');
    expect((await http(t, 'GET', '/v1/users/bad-1')).status).toBe(404);
  });

  it.runIf(engine === 'postgres')('a connection lost during the group\'s COMMIT answers outcome_unknown to every trigger of it; none is half-written', async () => {
    const [{ schema }] = await t.db.query<{ schema: string }>('SELECT current_schema() AS schema');
    // A deferred constraint trigger runs inside COMMIT: it holds the COMMIT open long enough to kill its backend.
    await t.db.exec(`
      CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(30); RETURN NULL; END $$;
      CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON idempotency_keys DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION slow_commit();`);
    // More triggers than groups can be written at once: at least one group holds several.
    const calls = Array.from({ length: 12 }, (_, i) => ({ key: 'hello', body: { recipients: [`r${i}`] }, idem: `lost-${i}` }));
    const killer = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await killer.connect();
    let settled = false;
    try {
      const answers = burst(t, calls).finally(() => { settled = true; });
      while (!settled) {
        await killer.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND query = 'COMMIT' AND state = 'active'`, [schema]);
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const res of await answers) {
        expect(res.status).toBe(503);
        expect(res.body).toMatchObject({ code: 'outcome_unknown', status: 503 });
      }
    } finally {
      await killer.end();
    }
    const [written] = await t.db.query<{ triggers: number; runs: number; keys: number }>(
      `SELECT (SELECT count(*) FROM workflow_triggers WHERE workflow_key = 'hello')::int AS triggers,
              (SELECT count(*) FROM recipient_runs WHERE workflow_key = 'hello')::int AS runs,
              (SELECT count(*) FROM idempotency_keys)::int AS keys`);
    expect(written).toEqual({ triggers: 0, runs: 0, keys: 0 });
    await t.db.exec('DROP TRIGGER slow_commit ON idempotency_keys');
    const retried = await burst(t, calls);
    expect(retried.map((r) => r.status)).toEqual(calls.map(() => 200));
    expect((await runsOf(t, 'hello'))).toHaveLength(12);
  });
});
