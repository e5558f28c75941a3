import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';
import { feedTexts, runDetail, runsOf } from '../support/runs.js';

const feed = (ref: string, body: string) => ({ ref, type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: body } });

const workflows = [
  {
    key: 'enrich',
    name: 'Enrich',
    steps: [
      { ref: 'set', type: 'update_data', settings: { data: '{"greeting": "Hello {{ recipient.name }}", "count": {{ data.count | plus: 1 }}}' } },
      feed('feed', '{{ data.greeting }} ({{ data.count }}, {{ data.kept }})'),
    ],
  },
  {
    key: 'profile',
    name: 'Profile',
    steps: [
      { ref: 'me', type: 'update_user', settings: { recipient_mode: 'current', update_properties: '{"last_plan": "{{ data.plan }}"}' } },
      { ref: 'other', type: 'update_user', settings: { recipient_mode: 'reference', recipient_gid: 'gid://Object/$users/{{ data.manager }}', update_properties: { reports_seen: true } } },
      { ref: 'org', type: 'update_tenant', settings: { update_properties: '{"onboarded": true}' } },
      { ref: 'project', type: 'update_object', settings: { recipient_gid: 'gid://Object/projects/apollo', update_properties: '{"status": "{{ data.plan }}"}' } },
      feed('feed', 'Plan {{ recipient.last_plan }}'),
    ],
  },
  {
    key: 'bad_json',
    name: 'Bad JSON',
    steps: [{ ref: 'set', type: 'update_data', settings: { data: '{"broken": {{ data.x }' } }, feed('feed', 'never')],
  },
];

describe.each(engines)('update_data, update_user, update_tenant, update_object (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows }); });
  afterEach(async () => { await t.close(); });

  it('update_data shallow-merges rendered JSON into data for the steps after it', async () => {
    await t.knock.users.update('ada', { name: 'Ada' });
    await t.knock.workflows.trigger('enrich', { recipients: ['ada'], data: { count: 1, kept: 'yes' } });
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['Hello Ada (2, yes)']);
    const [message] = (await t.knock.users.listMessages('ada')).items;
    expect(message.data).toMatchObject({ greeting: 'Hello Ada', count: 2, kept: 'yes' });
  });

  it('update_user/tenant/object merge properties into the recipient, a referenced user, the tenant and an object', async () => {
    await t.knock.users.update('ada', { name: 'Ada' });
    await t.knock.users.update('boss', { name: 'Boss' });
    await t.knock.workflows.trigger('profile', { recipients: ['ada'], tenant: 'acme', data: { plan: 'pro', manager: 'boss' } });
    await t.drain();
    expect(await t.knock.users.get('ada')).toMatchObject({ name: 'Ada', last_plan: 'pro' });
    expect(await t.knock.users.get('boss')).toMatchObject({ name: 'Boss', reports_seen: true });
    expect(await t.knock.tenants.get('acme')).toMatchObject({ onboarded: true });
    expect((await t.knock.objects.get('projects', 'apollo')).properties).toMatchObject({ status: 'pro' });
    // The recipient's new property is visible to the later step of the same run.
    expect(await feedTexts(t, 'ada')).toEqual(['Plan pro']);
  });

  it('a template that does not render to a JSON object fails the step three times and halts the run', async () => {
    await t.knock.workflows.trigger('bad_json', { recipients: ['ada'], data: { x: 1 } });
    for (let i = 0; i < 3; i++) {
      await t.drain();
      await t.clock.advance(120_000);
    }
    const run = await runDetail(t, (await runsOf(t, 'bad_json'))[0].id);
    expect(run.status).toBe('completed');
    expect(run.events.filter((e) => e.event === 'step_failed')).toHaveLength(3);
    expect(run.events.find((e) => e.event === 'run_halted')?.data?.reason).toBe('step "set" failed 3 times');
    expect(await feedTexts(t, 'ada')).toEqual([]);
  });
});
