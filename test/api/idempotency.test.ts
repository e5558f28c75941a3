import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';

const hello = {
  key: 'hello',
  name: 'Hello',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'hi' } }],
};

describe.each(engines)('Idempotency-Key on trigger (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows: [hello] }); });
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
});
