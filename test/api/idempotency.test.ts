import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';

const hello = {
  key: 'hello',
  name: 'Hello',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'hi' } }],
};

const reminder = {
  key: 'reminder',
  name: 'Reminder',
  steps: [{ ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'minutes', value: 10 } } }, hello.steps[0]],
};

describe.each(engines)('Idempotency-Key on trigger (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows: [hello, reminder] }); });
  afterEach(async () => { await t.close(); });

  it('replays the original response for the same key and body, creating nothing new', async () => {
    const body = { recipients: ['ada'], data: { n: 1 } };
    const first = await http(t, 'POST', '/v1/workflows/hello/trigger', body, { 'idempotency-key': 'abc' });
    const second = await http(t, 'POST', '/v1/workflows/hello/trigger', body, { 'idempotency-key': 'abc' });
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.headers.get('original-x-request-id')).toBe(first.headers.get('x-request-id'));
    await t.drain();
    expect((await t.knock.users.listMessages('ada')).items).toHaveLength(1);
  });

  it('answers 422 (never 409, which the SDK would retry) when the key is reused with another body', async () => {
    await http(t, 'POST', '/v1/workflows/hello/trigger', { recipients: ['ada'] }, { 'idempotency-key': 'k1' });
    const res = await http(t, 'POST', '/v1/workflows/hello/trigger', { recipients: ['bob'] }, { 'idempotency-key': 'k1' });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('invalid_params');
  });

  it('forgets a key after 24 hours', async () => {
    const a = await http(t, 'POST', '/v1/workflows/hello/trigger', { recipients: ['ada'] }, { 'idempotency-key': 'day' });
    t.clock.advance(24 * 3600 * 1000 + 1);
    const b = await http(t, 'POST', '/v1/workflows/hello/trigger', { recipients: ['ada'] }, { 'idempotency-key': 'day' });
    expect(b.body.workflow_run_id).not.toBe(a.body.workflow_run_id);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
  });

  it('lets concurrent duplicates produce exactly one trigger', async () => {
    const body = { recipients: ['ada'] };
    const results = await Promise.all(Array.from({ length: 5 }, () => http(t, 'POST', '/v1/workflows/hello/trigger', body, { 'idempotency-key': 'burst' })));
    expect(new Set(results.map((r) => r.body.workflow_run_id)).size).toBe(1);
    const runs = await http(t, 'GET', '/v1/workflow_recipient_runs?workflow=hello');
    expect(runs.body.items).toHaveLength(1);
  });

  it('the SDK\'s own per-request Idempotency-Key makes its retries safe', async () => {
    const a = await t.knock.workflows.trigger('hello', { recipients: ['ada'] }, { idempotencyKey: 'sdk-1' });
    const b = await t.knock.workflows.trigger('hello', { recipients: ['ada'] }, { idempotencyKey: 'sdk-1' });
    expect(b.workflow_run_id).toBe(a.workflow_run_id);
  });

  it('a retried cancel with the same key replays the first answer (same cancelled-runs count)', async () => {
    await t.knock.workflows.trigger('reminder', { recipients: ['ada', 'bob'], cancellation_key: 'order-1' });
    await t.drain();
    const body = { cancellation_key: 'order-1' };
    const first = await http(t, 'POST', '/v1/workflows/reminder/cancel', body, { 'idempotency-key': 'cancel-1' });
    const retry = await http(t, 'POST', '/v1/workflows/reminder/cancel', body, { 'idempotency-key': 'cancel-1' });
    expect(first.status).toBe(204);
    expect(first.headers.get('x-herald-cancelled-runs')).toBe('2');
    expect(retry.status).toBe(204);
    expect(retry.headers.get('x-herald-cancelled-runs')).toBe('2');
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const other = await http(t, 'POST', '/v1/workflows/reminder/cancel', body, { 'idempotency-key': 'cancel-2' });
    expect(other.headers.get('x-herald-cancelled-runs')).toBe('0');
  });

  it('a key used for a trigger cannot be replayed by a cancel', async () => {
    await http(t, 'POST', '/v1/workflows/reminder/trigger', { recipients: ['ada'], cancellation_key: 'o' }, { 'idempotency-key': 'shared' });
    const res = await http(t, 'POST', '/v1/workflows/reminder/cancel', { cancellation_key: 'o' }, { 'idempotency-key': 'shared' });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].field).toBe('Idempotency-Key');
  });

  it.runIf(engine === 'postgres')('answers outcome_unknown when the connection drops during COMMIT, and the retry with the same key is safe', async () => {
    const [{ schema }] = await t.db.query<{ schema: string }>('SELECT current_schema() AS schema');
    // A deferred constraint trigger runs inside COMMIT: it holds the COMMIT open long enough to kill its backend.
    await t.db.exec(`
      CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(30); RETURN NULL; END $$;
      CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON idempotency_keys DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION slow_commit();`);
    const killer = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await killer.connect();
    try {
      const answer = http(t, 'POST', '/v1/workflows/hello/trigger', { recipients: ['ada'] }, { 'idempotency-key': 'commit-lost' });
      for (let killed = false; !killed;) {
        const rows = await killer.query(
          `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1 AND query = 'COMMIT' AND state = 'active'`, [schema]);
        killed = rows.rows.some((r) => r.ok);
        if (!killed) await new Promise((r) => setTimeout(r, 20));
      }
      const res = await answer;
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ code: 'outcome_unknown', status: 503, type: 'api_error' });
      expect(res.body.message).toMatch(/may or may not have been applied/);
      expect(res.body.message).toMatch(/same Idempotency-Key is safe/);
    } finally {
      await killer.end();
    }
    await t.db.exec('DROP TRIGGER slow_commit ON idempotency_keys');
    const retry = await http(t, 'POST', '/v1/workflows/hello/trigger', { recipients: ['ada'] }, { 'idempotency-key': 'commit-lost' });
    expect(retry.status).toBe(200);
    const again = await http(t, 'POST', '/v1/workflows/hello/trigger', { recipients: ['ada'] }, { 'idempotency-key': 'commit-lost' });
    expect(again.body.workflow_run_id).toBe(retry.body.workflow_run_id);
    const runs = await http(t, 'GET', '/v1/workflow_recipient_runs?workflow=hello');
    expect(runs.body.items).toHaveLength(1);
  });
});
