import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { upsertWorkflow } from '../../src/store/workflows.js';

const welcome = {
  key: 'welcome',
  name: 'Welcome',
  categories: ['onboarding'],
  steps: [
    {
      ref: 'in_app_1',
      type: 'channel',
      channel_key: 'in-app-feed',
      template: {
        markdown_body: 'Hello **{{ recipient.name }}**, {{ actor.name }} invited you to {{ data.project }}',
        action_url: 'https://app.example.com/p/{{ data.project }}',
      },
    },
  ],
};

const guarded = {
  key: 'guarded',
  name: 'Guarded',
  conditions: { all: [{ variable: 'data.plan', operator: 'equal_to', argument: 'pro' }] },
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'pro only' } }],
};

const inactive = { ...welcome, key: 'paused-flow', active: false };

const strict = {
  key: 'strict',
  name: 'Strict',
  trigger_data_json_schema: { type: 'object', required: ['order_id'], properties: { order_id: { type: 'string' }, total: { type: 'number' } } },
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Order {{ data.order_id }}' } }],
};

describe.each(engines)('triggering workflows (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows: [welcome, guarded, inactive, strict] }); });
  afterEach(async () => { await t.close(); });

  it('returns a UUID v4 workflow_run_id and creates one run per recipient', async () => {
    await t.knock.users.update('ada', { name: 'Ada' });
    const res = await t.knock.workflows.trigger('welcome', { recipients: ['ada', 'bob'], data: { project: 'apollo' } });
    expect(res.workflow_run_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const runs = await http(t, 'GET', `/v1/workflow_recipient_runs?workflow_run_id=${res.workflow_run_id}`);
    expect(runs.body.items.map((r: any) => r.recipient).sort()).toEqual(['ada', 'bob']);
    expect(runs.body.items.every((r: any) => r.status === 'queued')).toBe(true);
  });

  it('delivers a rendered in-app message to each recipient once the worker runs', async () => {
    await t.knock.users.update('ada', { name: 'Ada' });
    await t.knock.workflows.trigger('welcome', {
      recipients: ['ada'],
      actor: { id: 'grace', name: 'Grace' },
      data: { project: 'apollo' },
    });
    await t.drain();
    const page = await t.knock.users.listMessages('ada');
    expect(page.items).toHaveLength(1);
    const message = page.items[0];
    expect(message.status).toBe('delivered');
    expect(message.source.key).toBe('welcome');
    expect(message.actors).toEqual(['grace']);
    const content = await t.knock.messages.getContent(message.id);
    const blocks = (content.data as any).blocks;
    expect(blocks.find((b: any) => b.name === 'body').rendered).toContain('Hello <strong>Ada</strong>, Grace invited you to apollo');
    expect(blocks.find((b: any) => b.name === 'action_url').rendered).toBe('https://app.example.com/p/apollo');
  });

  it('upserts inline recipients and a string-or-inline tenant before the run starts', async () => {
    await t.knock.workflows.trigger('welcome', {
      recipients: [{ id: 'carol', name: 'Carol', email: 'carol@example.com' }, { id: 'general', collection: 'channels', name: 'General' }],
      tenant: { id: 'acme', name: 'Acme Inc' },
      data: { project: 'x' },
    });
    const carol = await t.knock.users.get('carol');
    expect(carol.email).toBe('carol@example.com');
    const object = await t.knock.objects.get('channels', 'general');
    expect(object.properties).toMatchObject({ name: 'General' });
    const tenant = await t.knock.tenants.get('acme');
    expect(tenant.name).toBe('Acme Inc');
    await t.drain();
    const messages = await t.knock.messages.list({ tenant: 'acme' } as any);
    expect(messages.items.map((m) => m.recipient).sort((a: any, b: any) => JSON.stringify(a).localeCompare(JSON.stringify(b))))
      .toEqual(['carol', { id: 'general', collection: 'channels' }]);
  });

  it('merges a recipient\'s $trigger_data over the trigger data', async () => {
    await t.knock.workflows.trigger('welcome', {
      recipients: [{ id: 'dan', $trigger_data: { project: 'dan-project' } } as any, 'eve'],
      data: { project: 'shared' },
    });
    await t.drain();
    const dan = await t.knock.users.listMessages('dan');
    const eve = await t.knock.users.listMessages('eve');
    expect(dan.items[0].data).toMatchObject({ project: 'dan-project' });
    expect(eve.items[0].data).toMatchObject({ project: 'shared' });
  });

  it('de-duplicates recipients named twice', async () => {
    const res = await t.knock.workflows.trigger('welcome', { recipients: ['ada', 'ada', { id: 'ada' }], data: { project: 'p' } });
    const runs = await http(t, 'GET', `/v1/workflow_recipient_runs?workflow_run_id=${res.workflow_run_id}`);
    expect(runs.body.items).toHaveLength(1);
  });

  it('answers workflow_missing for an unknown workflow key', async () => {
    const res = await http(t, 'POST', '/v1/workflows/nope/trigger', { recipients: ['ada'] });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'workflow_missing', status: 404, type: 'invalid_request_error' });
  });

  it('answers workflow_inactive for a workflow marked "active": false', async () => {
    const res = await http(t, 'POST', '/v1/workflows/paused-flow/trigger', { recipients: ['ada'] });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('workflow_inactive');
  });

  it('notices at once when a workflow it has already triggered is deactivated or changed', async () => {
    await t.knock.workflows.trigger('welcome', { recipients: ['ada'], data: { project: 'p' } });
    await upsertWorkflow(t.db, { ...welcome, active: false } as any, null, t.clock.now());
    const res = await http(t, 'POST', '/v1/workflows/welcome/trigger', { recipients: ['ada'] });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('workflow_inactive');
    const changed = { ...welcome, steps: [{ ...welcome.steps[0], template: { markdown_body: 'Version two' } }] };
    await upsertWorkflow(t.db, changed as any, null, t.clock.now());
    await t.knock.workflows.trigger('welcome', { recipients: ['bob'] });
    await t.drain();
    const [message] = (await t.knock.users.listMessages('bob')).items;
    const content = await t.knock.messages.getContent(message.id);
    expect((content.data as any).blocks[0].content).toBe('Version two');
  });

  it('answers actor_missing for a string actor that was never identified', async () => {
    const res = await http(t, 'POST', '/v1/workflows/welcome/trigger', { recipients: ['ada'], actor: 'ghost' });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('actor_missing');
  });

  it('rejects data that fails trigger_data_json_schema with a per-field error list', async () => {
    const res = await http(t, 'POST', '/v1/workflows/strict/trigger', { recipients: ['ada'], data: { total: 'ten' } });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('invalid_params');
    const fields = res.body.errors.map((e: any) => e.field).sort();
    expect(fields).toEqual(['data.order_id', 'data.total']);
  });

  it('rejects a malformed body with Knock\'s 422 shape naming the field', async () => {
    const res = await http(t, 'POST', '/v1/workflows/welcome/trigger', { recipients: 'ada' });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'invalid_params', status: 422, type: 'invalid_request_error' });
    expect(res.body.errors.some((e: any) => e.field.startsWith('recipients'))).toBe(true);
  });

  it('halts the run without a message when the workflow conditions are false', async () => {
    await t.knock.workflows.trigger('guarded', { recipients: ['ada'], data: { plan: 'free' } });
    await t.knock.workflows.trigger('guarded', { recipients: ['bob'], data: { plan: 'pro' } });
    await t.drain();
    expect((await t.knock.users.listMessages('ada')).items).toHaveLength(0);
    expect((await t.knock.users.listMessages('bob')).items).toHaveLength(1);
    const runs = await http(t, 'GET', '/v1/workflow_recipient_runs?recipient=ada');
    const run = await http(t, 'GET', `/v1/workflow_recipient_runs/${runs.body.items[0].id}`);
    expect(run.body.status).toBe('completed');
    expect(run.body.events.find((e: any) => e.event === 'run_halted').data.reason).toMatch(/conditions/);
  });

  it('in sandbox mode records the message as not_sent and keeps it out of the feed', async () => {
    await t.knock.workflows.trigger('welcome', { recipients: ['ada'], data: { project: 'p' }, settings: { sandbox_mode: true } } as any);
    await t.drain();
    const messages = await t.knock.users.listMessages('ada');
    expect(messages.items[0].status).toBe('not_sent');
    const feed = await t.knock.users.feeds.listItems('ada', 'in-app-feed');
    expect(feed.entries).toHaveLength(0);
  });
});
