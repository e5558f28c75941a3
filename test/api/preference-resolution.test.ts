/**
 * Preference resolution, one row per rule of knock-api.md §5.11. Every row triggers a real
 * workflow through the SDK and runs the worker, then checks the outcome two ways:
 *   - the run: a message was created, or the channel step was skipped with the expected
 *     deciding layer and key on its `step_skipped` event;
 *   - the explanation endpoint (`POST /v1/preferences/explain`, a Herald extension) asked about
 *     the same recipient, workflow, channel, tenant and data gives the same decision — for a
 *     skip, exactly the explanation the run event recorded.
 * Rows share one Herald per engine; each uses its own recipients and tenants, and the one
 * environment default set only names the `digest` workflow, which only the environment rows use.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.js';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { openSharedDb, startHeraldOn, type RunningHerald, type SharedDb } from '../support/two-heralds.js';

const feed = { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hello' } };
const workflows = [
  { key: 'alerts', name: 'Alerts', categories: ['alerts', 'ops'], steps: [feed] },
  { key: 'digest', name: 'Digest', steps: [feed] },
  { key: 'promo', name: 'Promo', settings: { is_commercial: true }, steps: [feed] },
  { key: 'password-reset', name: 'Password reset', settings: { override_preferences: true }, steps: [feed] },
];

const RECIPIENT_DEFAULT = 'recipient\'s "default" preference set';
const ENVIRONMENT = 'environment default preferences';
const recipientTenantSet = (tenant: string) => `recipient's "${tenant}" preference set`;
const tenantDefault = (tenant: string) => `tenant "${tenant}" default preferences`;

type Ref = string | { id: string; collection: string };
interface Ctx {
  t: TestHerald;
  /** The in-app feed channel's UUID (for `channels` preferences). */
  feedChannel: string;
}
interface Row {
  rule: string;
  workflow: string;
  /** Who the run is for (a user id, or an object reference). */
  recipient: Ref;
  /** The trigger's recipient entry when it is not just `recipient` (inline preferences). */
  inline?: Record<string, unknown>;
  tenant?: string;
  data?: Record<string, unknown>;
  setup?: (c: Ctx) => Promise<unknown>;
  /** `sent`, or the layer and dotted key that blocked (`<feed>` stands for the feed channel id). */
  expected: 'sent' | { layer: string; key: string };
  /** For sent rows: what the explanation names as deciding (null = nothing applied). */
  allowedBy?: { layer: string; key: string } | null;
  /** Layer names the explanation lists, highest first. */
  layers?: string[];
}

const pro = (plan: string) => ({ variable: 'recipient.plan', operator: 'equal_to', argument: plan });
const priority = (p: string) => ({ variable: 'data.priority', operator: 'equal_to', argument: p });

const rows: Row[] = [
  {
    rule: 'the recipient\'s default set blocks (channel_types)',
    workflow: 'alerts', recipient: 'r-default',
    setup: ({ t }) => t.knock.users.setPreferences('r-default', 'default', { channel_types: { in_app_feed: false } }),
    expected: { layer: RECIPIENT_DEFAULT, key: 'channel_types.in_app_feed' },
    layers: [RECIPIENT_DEFAULT, ENVIRONMENT],
  },
  {
    rule: 'the environment default set applies when nothing above sets the key',
    workflow: 'digest', recipient: 'r-env',
    expected: { layer: ENVIRONMENT, key: 'workflows.digest' },
  },
  {
    rule: 'the recipient\'s default set beats the environment default',
    workflow: 'digest', recipient: 'r-env-over',
    setup: ({ t }) => t.knock.users.setPreferences('r-env-over', 'default', { workflows: { digest: true } }),
    expected: 'sent',
    allowedBy: { layer: RECIPIENT_DEFAULT, key: 'workflows.digest' },
  },
  {
    rule: 'a tenant default set beats the environment default',
    workflow: 'digest', recipient: 'r-env-tenant', tenant: 'env-tenant',
    setup: ({ t }) => t.knock.tenants.set('env-tenant', { settings: { preference_set: { workflows: { digest: true } } } } as any),
    expected: 'sent',
    allowedBy: { layer: tenantDefault('env-tenant'), key: 'workflows.digest' },
  },
  {
    rule: 'the tenant default set (tenant.settings.preference_set) blocks',
    workflow: 'alerts', recipient: 'r-tenant', tenant: 'tenant-a',
    setup: ({ t }) => t.knock.tenants.set('tenant-a', { settings: { preference_set: { workflows: { alerts: false } } } } as any),
    expected: { layer: tenantDefault('tenant-a'), key: 'workflows.alerts' },
    layers: [recipientTenantSet('tenant-a'), tenantDefault('tenant-a'), ENVIRONMENT],
  },
  {
    rule: 'the recipient\'s set for the tenant beats the tenant default',
    workflow: 'alerts', recipient: 'r-tenant-own', tenant: 'tenant-b',
    setup: async ({ t }) => {
      await t.knock.tenants.set('tenant-b', { settings: { preference_set: { workflows: { alerts: false } } } } as any);
      await t.knock.users.setPreferences('r-tenant-own', 'tenant-b', { workflows: { alerts: true } });
    },
    expected: 'sent',
    allowedBy: { layer: recipientTenantSet('tenant-b'), key: 'workflows.alerts' },
  },
  {
    rule: 'a trigger tenant without tenant-specific preferences falls back to the recipient\'s default set',
    workflow: 'alerts', recipient: 'r-tenant-none', tenant: 'tenant-plain',
    setup: ({ t }) => t.knock.users.setPreferences('r-tenant-none', 'default', { workflows: { alerts: false } }),
    expected: { layer: RECIPIENT_DEFAULT, key: 'workflows.alerts' },
    layers: [RECIPIENT_DEFAULT, ENVIRONMENT],
  },
  {
    rule: 'a tenant default marked __strategy__ "replace" beats the recipient\'s tenant set',
    workflow: 'alerts', recipient: 'r-replace', tenant: 'tenant-c',
    setup: async ({ t }) => {
      await t.knock.tenants.set('tenant-c', {
        settings: { preference_set: { workflows: { alerts: { __strategy__: 'replace', channel_types: { in_app_feed: false } } } } },
      } as any);
      await t.knock.users.setPreferences('r-replace', 'tenant-c', { workflows: { alerts: true } });
    },
    expected: { layer: tenantDefault('tenant-c'), key: 'workflows.alerts.channel_types.in_app_feed' },
  },
  {
    rule: 'workflows[key] false blocks',
    workflow: 'alerts', recipient: 'r-workflow',
    setup: ({ t }) => t.knock.users.setPreferences('r-workflow', 'default', { workflows: { alerts: false } }),
    expected: { layer: RECIPIENT_DEFAULT, key: 'workflows.alerts' },
  },
  {
    rule: 'any one of the workflow\'s categories false blocks, even with the others true',
    workflow: 'alerts', recipient: 'r-category',
    setup: ({ t }) => t.knock.users.setPreferences('r-category', 'default', { categories: { alerts: true, ops: false } }),
    expected: { layer: RECIPIENT_DEFAULT, key: 'categories.ops' },
  },
  {
    rule: 'a category object\'s nested channel_types block that channel type',
    workflow: 'alerts', recipient: 'r-category-nested',
    setup: ({ t }) => t.knock.users.setPreferences('r-category-nested', 'default', { categories: { ops: { channel_types: { in_app_feed: false } } } }),
    expected: { layer: RECIPIENT_DEFAULT, key: 'categories.ops.channel_types.in_app_feed' },
  },
  {
    rule: 'a category object\'s nested channel_types leave other channel types alone',
    workflow: 'alerts', recipient: 'r-category-other',
    setup: ({ t }) => t.knock.users.setPreferences('r-category-other', 'default', { categories: { ops: { channel_types: { email: false } } } }),
    expected: 'sent',
    allowedBy: null,
  },
  {
    rule: 'a channel true beats its channel type false',
    workflow: 'alerts', recipient: 'r-channel-on',
    setup: ({ t, feedChannel }) => t.knock.users.setPreferences('r-channel-on', 'default', { channel_types: { in_app_feed: false }, channels: { [feedChannel]: true } }),
    expected: 'sent',
    allowedBy: { layer: RECIPIENT_DEFAULT, key: 'channels.<feed>' },
  },
  {
    rule: 'a channel false beats its channel type true',
    workflow: 'alerts', recipient: 'r-channel-off',
    setup: ({ t, feedChannel }) => t.knock.users.setPreferences('r-channel-off', 'default', { channel_types: { in_app_feed: true }, channels: { [feedChannel]: false } }),
    expected: { layer: RECIPIENT_DEFAULT, key: 'channels.<feed>' },
  },
  {
    rule: 'conditions are AND-ed: one failing condition blocks',
    workflow: 'alerts', recipient: 'r-cond-fail', data: { priority: 'low' },
    setup: async ({ t }) => {
      await t.knock.users.update('r-cond-fail', { plan: 'pro' } as any);
      await t.knock.users.setPreferences('r-cond-fail', 'default', { channel_types: { in_app_feed: { conditions: [pro('pro'), priority('high')] } } } as any);
    },
    expected: { layer: RECIPIENT_DEFAULT, key: 'channel_types.in_app_feed' },
  },
  {
    rule: 'conditions are AND-ed: all passing allows',
    workflow: 'alerts', recipient: 'r-cond-pass', data: { priority: 'high' },
    setup: async ({ t }) => {
      await t.knock.users.update('r-cond-pass', { plan: 'pro' } as any);
      await t.knock.users.setPreferences('r-cond-pass', 'default', { channel_types: { in_app_feed: { conditions: [pro('pro'), priority('high')] } } } as any);
    },
    expected: 'sent',
    allowedBy: { layer: RECIPIENT_DEFAULT, key: 'channel_types.in_app_feed' },
  },
  {
    rule: 'commercial_subscribed false blocks an is_commercial workflow',
    workflow: 'promo', recipient: 'r-commercial',
    setup: ({ t }) => t.knock.users.setPreferences('r-commercial', 'default', { commercial_subscribed: false }),
    expected: { layer: RECIPIENT_DEFAULT, key: 'commercial_subscribed' },
  },
  {
    rule: 'commercial_subscribed false leaves a non-commercial workflow sending',
    workflow: 'alerts', recipient: 'r-commercial-2',
    setup: ({ t }) => t.knock.users.setPreferences('r-commercial-2', 'default', { commercial_subscribed: false }),
    expected: 'sent',
    allowedBy: null,
  },
  {
    rule: 'override_preferences ignores every preference',
    workflow: 'password-reset', recipient: 'r-override',
    setup: ({ t }) => t.knock.users.setPreferences('r-override', 'default', { workflows: { 'password-reset': false }, channel_types: { in_app_feed: false } }),
    expected: 'sent',
    allowedBy: { layer: 'workflow settings', key: 'settings.override_preferences' },
  },
  {
    rule: 'inline preferences on identify deep-merge into the stored set',
    workflow: 'alerts', recipient: 'r-inline-identify',
    setup: async ({ t }) => {
      await t.knock.users.update('r-inline-identify', { preferences: { default: { workflows: { alerts: false } } } } as any);
      await t.knock.users.update('r-inline-identify', { preferences: { default: { channel_types: { email: false } } } } as any);
    },
    expected: { layer: RECIPIENT_DEFAULT, key: 'workflows.alerts' },
  },
  {
    rule: 'inline preferences on trigger deep-merge into the stored set (a stored opt-out stays)',
    workflow: 'alerts', recipient: 'r-inline-trigger',
    inline: { id: 'r-inline-trigger', preferences: { default: { workflows: { alerts: true } } } },
    setup: ({ t }) => t.knock.users.setPreferences('r-inline-trigger', 'default', { categories: { ops: false } }),
    expected: { layer: RECIPIENT_DEFAULT, key: 'categories.ops' },
  },
  {
    rule: 'inline preferences on trigger apply to that trigger\'s run',
    workflow: 'alerts', recipient: 'r-inline-trigger-2',
    inline: { id: 'r-inline-trigger-2', preferences: { default: { categories: { ops: true } } } },
    setup: ({ t }) => t.knock.users.setPreferences('r-inline-trigger-2', 'default', { categories: { ops: false } }),
    expected: 'sent',
    allowedBy: { layer: RECIPIENT_DEFAULT, key: 'categories.ops' },
  },
  {
    rule: 'an object recipient\'s own preferences apply',
    workflow: 'alerts', recipient: { collection: 'projects', id: 'p-prefs' },
    setup: ({ t }) => t.knock.objects.set('projects', 'p-prefs', { preferences: { default: { workflows: { alerts: false } } } } as any),
    expected: { layer: RECIPIENT_DEFAULT, key: 'workflows.alerts' },
  },
];

describe.each(engines)('preference resolution (%s)', (engine) => {
  let c: Ctx;
  beforeAll(async () => {
    const t = await startTestHerald(engine, { workflows });
    // The feed channel's UUID, read off a delivered message.
    await t.knock.workflows.trigger('alerts', { recipients: ['warm-up'] });
    await t.drain();
    const [first] = (await t.knock.users.listMessages('warm-up')).items;
    const env = await http(t, 'PUT', '/v1/environment/preferences/default', { workflows: { digest: false } });
    expect(env.status).toBe(200);
    c = { t, feedChannel: first.channel_id };
  });
  afterAll(async () => { await c.t.close(); });

  const withFeed = (key: string) => key.replace('<feed>', c.feedChannel);

  for (const row of rows) it(row.rule, async () => {
    const { t } = c;
    await row.setup?.(c);
    await t.knock.workflows.trigger(row.workflow, { recipients: [(row.inline ?? row.recipient) as any], tenant: row.tenant, data: row.data });
    await t.drain();

    const runs = (await t.knock.workflowRecipientRuns.list({ recipient: row.recipient, workflow: row.workflow })).items;
    expect(runs).toHaveLength(1);
    const { events } = await t.knock.workflowRecipientRuns.get(runs[0].id);
    const step = events.find((e) => e.step_ref === 'feed' && (e.event === 'step_completed' || e.event === 'step_skipped'))!;

    const explained = await http(t, 'POST', '/v1/preferences/explain', {
      recipient: row.recipient, workflow: row.workflow, channel_key: 'in-app-feed', tenant: row.tenant, data: row.data,
    });
    expect(explained.status).toBe(200);

    if (row.expected === 'sent') {
      expect(step.event).toBe('step_completed');
      const message = await t.knock.messages.get((step.data as { message_id: string }).message_id);
      expect(message).toMatchObject({ status: 'delivered', source: { key: row.workflow }, tenant: row.tenant ?? null });
      expect(explained.body.allowed).toBe(true);
      if (row.allowedBy !== undefined) {
        expect(explained.body.decided_by).toEqual(row.allowedBy && { ...row.allowedBy, key: withFeed(row.allowedBy.key) });
      }
    } else {
      expect(step.event).toBe('step_skipped');
      expect(step.data).toMatchObject({ allowed: false, decided_by: { layer: row.expected.layer, key: withFeed(row.expected.key) } });
      expect((step.data as { reason: string }).reason).toContain(`blocked by the ${row.expected.layer}`);
      // The endpoint answers exactly what the step recorded: reason, decider, layers and merged set.
      expect(explained.body).toEqual(step.data);
    }
    if (row.layers) expect(explained.body.layers.map((l: { name: string }) => l.name)).toEqual(row.layers);
  });

  it('explains with the merged set and every layer consulted, absent ones as null', async () => {
    const { t } = c;
    await t.knock.tenants.set('explain-co', { settings: { preference_set: { categories: { ops: false } } } } as any);
    await t.knock.users.setPreferences('r-explain', 'explain-co', { categories: { ops: true } });
    const res = await http(t, 'POST', '/v1/preferences/explain', { recipient: 'r-explain', workflow: 'alerts', channel_type: 'in_app_feed', tenant: 'explain-co' });
    expect(res.body).toEqual({
      allowed: true,
      reason: `allowed: categories.ops is true in the ${recipientTenantSet('explain-co')}`,
      decided_by: { layer: recipientTenantSet('explain-co'), key: 'categories.ops' },
      layers: [
        { name: recipientTenantSet('explain-co'), set: { categories: { ops: true } } },
        { name: tenantDefault('explain-co'), set: { categories: { ops: false } } },
        { name: ENVIRONMENT, set: { workflows: { digest: false } } },
      ],
      merged: { categories: { ops: true }, workflows: { digest: false } },
    });
  });

  it('explains an unknown recipient from the environment default alone, and answers "no preference applies"', async () => {
    const res = await http(c.t, 'POST', '/v1/preferences/explain', { recipient: 'nobody', workflow: 'alerts', channel_key: 'in-app-feed' });
    expect(res.body).toMatchObject({ allowed: true, reason: 'allowed: no preference applies', decided_by: null, layers: [{ name: RECIPIENT_DEFAULT, set: null }, { name: ENVIRONMENT }] });
  });

  it('rejects an explanation without a channel (422), for an unknown workflow (404) or channel (404), or with a mismatched channel type (422)', async () => {
    const { t } = c;
    const noChannel = await http(t, 'POST', '/v1/preferences/explain', { recipient: 'ada', workflow: 'alerts' });
    expect(noChannel.status).toBe(422);
    expect(noChannel.body.errors).toEqual([expect.objectContaining({ field: 'channel_key' })]);
    expect((await http(t, 'POST', '/v1/preferences/explain', { recipient: 'ada', workflow: 'nope', channel_type: 'email' })).body.code).toBe('workflow_missing');
    expect((await http(t, 'POST', '/v1/preferences/explain', { recipient: 'ada', workflow: 'alerts', channel_key: 'nope' })).body.code).toBe('channel_invalid');
    const mismatch = await http(t, 'POST', '/v1/preferences/explain', { recipient: 'ada', workflow: 'alerts', channel_key: 'in-app-feed', channel_type: 'email' });
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.errors).toEqual([expect.objectContaining({ field: 'channel_type' })]);
  });

  it('documents both extension endpoints in the OpenAPI document', async () => {
    const doc = await (await fetch(`${c.t.url}/openapi.json`)).json();
    expect(doc.paths['/v1/preferences/explain'].post.requestBody).toBeDefined();
    expect(doc.paths['/v1/preferences/explain'].post.summary).toContain('Herald extension');
    expect(Object.keys(doc.paths['/v1/environment/preferences/default']).sort()).toEqual(['delete', 'get', 'put']);
  });

  it('refuses the explanation and the environment set to a public key', async () => {
    const headers = { authorization: `Bearer ${c.t.publicKey}` };
    expect((await http(c.t, 'POST', '/v1/preferences/explain', { recipient: 'ada', workflow: 'alerts', channel_type: 'email' }, headers)).status).toBe(403);
    expect((await http(c.t, 'GET', '/v1/environment/preferences/default', undefined, headers)).status).toBe(403);
  });
});

describe.each(engines)('the environment default set across processes (%s)', (engine) => {
  let shared: SharedDb;
  let a: RunningHerald;
  let b: RunningHerald;
  beforeEach(async () => {
    const clock = new ManualClock('2026-03-01T12:00:00Z');
    shared = await openSharedDb(engine);
    a = await startHeraldOn(shared.dbs[0], { clock, workflows });
    b = await startHeraldOn(shared.dbs[1], { clock, workflows });
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    await shared.close();
  });

  it('a change made through one process decides the next channel step run by another', async () => {
    const sentTo = async (user: string) => (await a.knock.users.listMessages(user)).items.length;
    await a.knock.workflows.trigger('digest', { recipients: ['ada'] });
    await a.drain();
    expect(await sentTo('ada')).toBe(1);

    const setDefault = (method: string, body?: unknown) => fetch(`${b.url}/v1/environment/preferences/default`, {
      method, headers: { authorization: `Bearer ${b.secretKey}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect((await setDefault('PUT', { workflows: { digest: false } })).status).toBe(200);
    await a.knock.workflows.trigger('digest', { recipients: ['bob'] });
    await a.drain();
    expect(await sentTo('bob')).toBe(0);

    expect((await setDefault('DELETE')).status).toBe(204);
    await a.knock.workflows.trigger('digest', { recipients: ['cy'] });
    await a.drain();
    expect(await sentTo('cy')).toBe(1);
  });
});
