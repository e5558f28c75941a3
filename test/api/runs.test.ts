import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';

const feed = { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'hi' } };
const quick = { key: 'quick', name: 'Quick', steps: [feed] };
const slow = { key: 'slow', name: 'Slow', steps: [{ ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'hours', value: 1 } } }, feed] };
const broken = { key: 'broken', name: 'Broken', steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: "{% render 'missing-partial' %}" } }] };

describe.each(engines)('workflow recipient runs (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows: [quick, slow, broken] }); });
  afterEach(async () => { await t.close(); });

  it('lists runs newest first and pages through them with the SDK', async () => {
    for (const user of ['u1', 'u2', 'u3']) {
      await t.knock.workflows.trigger('quick', { recipients: [user] });
      t.clock.advance(1000);
    }
    const first = await t.knock.workflowRecipientRuns.list({ page_size: 2 });
    expect(first.items.map((r) => r.recipient)).toEqual(['u3', 'u2']);
    const all: unknown[] = [];
    for await (const run of t.knock.workflowRecipientRuns.list({ page_size: 2 })) all.push(run.recipient);
    expect(all).toEqual(['u3', 'u2', 'u1']);
  });

  it('filters by workflow, status, recipient object reference and tenant', async () => {
    await t.knock.workflows.trigger('quick', { recipients: ['ada'], tenant: 'acme' });
    await t.knock.workflows.trigger('slow', { recipients: [{ id: 'proj-1', collection: 'projects' }] });
    await t.drain();
    const paused = await t.knock.workflowRecipientRuns.list({ status: ['paused'] });
    expect(paused.items.map((r) => r.workflow)).toEqual(['slow']);
    const byObject = await t.knock.workflowRecipientRuns.list({ recipient: { id: 'proj-1', collection: 'projects' } });
    expect(byObject.items).toHaveLength(1);
    expect(byObject.items[0].recipient).toEqual({ id: 'proj-1', collection: 'projects' });
    const byTenant = await t.knock.workflowRecipientRuns.list({ tenant: 'acme', workflow: 'quick' });
    expect(byTenant.items.map((r) => r.recipient)).toEqual(['ada']);
    const completed = await http(t, 'GET', '/v1/workflow_recipient_runs?status[]=completed&status[]=cancelled');
    expect(completed.body.items.map((r: any) => r.workflow)).toEqual(['quick']);
  });

  it('shows each step\'s events, with the cancellation key in trigger_source', async () => {
    await t.knock.workflows.trigger('quick', { recipients: ['ada'], cancellation_key: 'ck' });
    await t.drain();
    const [run] = (await t.knock.workflowRecipientRuns.list({ workflow: 'quick' })).items;
    expect(run.trigger_source).toMatchObject({ type: 'api', cancellation_key: 'ck' });
    const detail = await t.knock.workflowRecipientRuns.get(run.id);
    expect(detail.status).toBe('completed');
    const completed = detail.events.find((e) => e.event === 'step_completed');
    expect(completed).toMatchObject({ step_ref: 'feed', step_type: 'channel', status: 'ok' });
    expect(typeof completed!.data!.message_id).toBe('string');
  });

  it('retries a failing step three times in all, then halts the run with its errors recorded', async () => {
    await t.knock.workflows.trigger('broken', { recipients: ['ada'] });
    for (let i = 0; i < 3; i++) {
      await t.drain();
      t.clock.advance(5 * 60_000);
    }
    const [run] = (await t.knock.workflowRecipientRuns.list({ workflow: 'broken' })).items;
    expect(run.status).toBe('completed');
    expect(run.error_count).toBe(1);
    const detail = await t.knock.workflowRecipientRuns.get(run.id);
    const failures = detail.events.filter((e) => e.event === 'step_failed');
    expect(failures.map((f) => f.attempt)).toEqual([1, 2, 3]);
    expect(failures[0].status).toBe('error');
    expect(detail.events.some((e) => e.event === 'run_halted')).toBe(true);
    const withErrors = await t.knock.workflowRecipientRuns.list({ has_errors: true });
    expect(withErrors.items.map((r) => r.id)).toEqual([run.id]);
  });

  it('answers 404 for an unknown run id', async () => {
    const res = await http(t, 'GET', '/v1/workflow_recipient_runs/00000000-0000-4000-8000-000000000000');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('resource_missing');
  });
});
