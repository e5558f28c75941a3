import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { feedTexts, runsOf } from '../support/runs.js';

const feed = (ref: string, body: string) => ({ ref, type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: body } });

const workflows = [
  {
    key: 'parent',
    name: 'Parent',
    steps: [
      { ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'minutes', value: 5 } } },
      { ref: 'escalate', type: 'trigger_workflow', settings: { workflow_key: 'child', recipients: '["{{ recipient.id }}", "{{ data.manager }}"]', data: '{"ticket": "{{ data.ticket }}"}' } },
    ],
  },
  { key: 'child', name: 'Child', steps: [feed('feed', 'Ticket {{ data.ticket }} for {{ recipient.id }} (actor {{ actor.id }})')] },
  { key: 'defaults', name: 'Defaults', steps: [{ ref: 'go', type: 'trigger_workflow', settings: { workflow_key: 'child' } }] },
  { key: 'to_missing', name: 'To missing', steps: [{ ref: 'go', type: 'trigger_workflow', settings: { workflow_key: 'nope' } }] },
  { key: 'echo', name: 'Echo', steps: [feed('feed', 'echo'), { ref: 'again', type: 'trigger_workflow', settings: { workflow_key: 'echo' } }] },
];

describe.each(engines)('trigger_workflow steps (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows }); });
  afterEach(async () => { await t.close(); });

  it('triggers the child with rendered recipients and data; the child runs say trigger_source workflow_step', async () => {
    await t.knock.users.update('pat', { name: 'Pat' });
    const { workflow_run_id: parentRun } = await t.knock.workflows.trigger('parent', { recipients: ['ada'], actor: 'pat', data: { ticket: 'T-1', manager: 'boss' } });
    await t.drain();
    await t.clock.advance(5 * 60_000);
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['Ticket T-1 for ada (actor pat)']);
    expect(await feedTexts(t, 'boss')).toEqual(['Ticket T-1 for boss (actor pat)']);
    const [parent] = await runsOf(t, 'parent');
    const children = await runsOf(t, 'child');
    expect(children).toHaveLength(2);
    expect(children[0].workflow_run_id).not.toBe(parentRun);
    expect(children[0].trigger_source).toMatchObject({ type: 'workflow_step', parent_recipient_run_id: parent.id, step_ref: 'escalate' });
  });

  it("uses Knock's defaults: the same recipient, actor, tenant and data", async () => {
    await t.knock.users.update('pat', { name: 'Pat' });
    await t.knock.workflows.trigger('defaults', { recipients: ['ada'], actor: 'pat', tenant: 'acme', data: { ticket: 'T-2' } });
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['Ticket T-2 for ada (actor pat)']);
    const [child] = (await t.knock.users.listMessages('ada')).items;
    expect(child.tenant).toBe('acme');
  });

  it('cancelling the parent before the step runs means the child is never triggered', async () => {
    await t.knock.workflows.trigger('parent', { recipients: ['ada'], data: { ticket: 'T-3', manager: 'boss' }, cancellation_key: 'T-3' });
    await t.drain();
    await t.knock.workflows.cancel('parent', { cancellation_key: 'T-3' });
    await t.clock.advance(5 * 60_000);
    await t.drain();
    expect(await runsOf(t, 'child')).toEqual([]);
  });

  it('skips the step when the target workflow does not exist', async () => {
    await t.knock.workflows.trigger('to_missing', { recipients: ['ada'] });
    await t.drain();
    const [run] = await runsOf(t, 'to_missing');
    const detail = (await http(t, 'GET', `/v1/workflow_recipient_runs/${run.id}`)).body;
    expect(detail.events.find((e: { event: string }) => e.event === 'step_skipped').data.reason).toBe('workflow "nope" does not exist');
  });

  it('a workflow that triggers itself stops after a chain of 10, the last run halted with the reason', async () => {
    await t.knock.workflows.trigger('echo', { recipients: ['ada'] });
    expect(await t.drain()).toBeLessThan(100); // finite: the chain ends by itself
    const runs = await runsOf(t, 'echo');
    expect(runs).toHaveLength(11); // the API's run and 10 chained ones
    const deepest = runs.find((r) => r.trigger_source.depth === 10)!;
    expect(deepest.trigger_source).toMatchObject({ type: 'workflow_step', depth: 10 });
    const detail = (await http(t, 'GET', `/v1/workflow_recipient_runs/${deepest.id}`)).body;
    const halted = detail.events.find((e: { event: string }) => e.event === 'run_halted');
    expect(halted).toMatchObject({ step_ref: 'again', status: 'error' });
    expect(halted.data.reason).toBe('trigger_workflow chain too deep: this run was started by 10 chained trigger_workflow steps, the limit is 10');
    expect(await feedTexts(t, 'ada')).toHaveLength(11);
  });
});
