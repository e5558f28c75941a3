import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';

const feed = { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'hi' } };
const alerts = { key: 'alerts', name: 'Alerts', categories: ['alerts', 'ops'], steps: [feed] };
const reset = { key: 'password-reset', name: 'Password reset', settings: { override_preferences: true }, steps: [feed] };
const promo = { key: 'promo', name: 'Promo', settings: { is_commercial: true }, steps: [feed] };

describe.each(engines)('preferences decide whether a channel step sends (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows: [alerts, reset, promo] }); });
  afterEach(async () => { await t.close(); });

  async function deliveredTo(user: string) {
    return (await t.knock.users.listMessages(user)).items.length;
  }
  async function skipReason(user: string) {
    const [run] = (await t.knock.workflowRecipientRuns.list({ recipient: user })).items;
    const detail = await t.knock.workflowRecipientRuns.get(run.id);
    return (detail.events.find((e) => e.event === 'step_skipped')?.data as { reason?: string } | undefined)?.reason;
  }

  it('sends when no preference applies (everything defaults to opted in)', async () => {
    await t.knock.workflows.trigger('alerts', { recipients: ['ada'] });
    await t.drain();
    expect(await deliveredTo('ada')).toBe(1);
  });

  it('skips when the recipient opted out of the workflow, and records which set and key decided', async () => {
    await t.knock.users.update('ada', { preferences: { default: { workflows: { alerts: false } } } } as any);
    await t.knock.workflows.trigger('alerts', { recipients: ['ada'] });
    await t.drain();
    expect(await deliveredTo('ada')).toBe(0);
    const reason = await skipReason('ada');
    expect(reason).toContain('workflows.alerts');
    expect(reason).toContain('default');
  });

  it('skips when any one of the workflow\'s categories is off, or the channel type is off', async () => {
    await t.knock.users.update('ada', { preferences: { default: { categories: { ops: false } } } } as any);
    await t.knock.users.update('bob', { preferences: { default: { channel_types: { in_app_feed: false } } } } as any);
    await t.knock.workflows.trigger('alerts', { recipients: ['ada', 'bob', 'cy'] });
    await t.drain();
    expect([await deliveredTo('ada'), await deliveredTo('bob'), await deliveredTo('cy')]).toEqual([0, 0, 1]);
    expect(await skipReason('ada')).toContain('categories.ops');
    expect(await skipReason('bob')).toContain('channel_types.in_app_feed');
  });

  it('applies preferences sent inline with the trigger before the run starts', async () => {
    await t.knock.workflows.trigger('alerts', { recipients: [{ id: 'dee', preferences: { default: { workflows: { alerts: false } } } } as any] });
    await t.drain();
    expect(await deliveredTo('dee')).toBe(0);
  });

  it('uses the tenant\'s default set, and the recipient\'s set for that tenant over it', async () => {
    await t.knock.tenants.set('acme', { settings: { preference_set: { workflows: { alerts: false } } } } as any);
    await t.knock.users.update('bob', { preferences: { acme: { workflows: { alerts: true } } } } as any);
    await t.knock.workflows.trigger('alerts', { recipients: ['ada', 'bob'], tenant: 'acme' });
    await t.knock.workflows.trigger('alerts', { recipients: ['ada'] });
    await t.drain();
    expect(await deliveredTo('ada')).toBe(1); // only the trigger without a tenant
    expect(await deliveredTo('bob')).toBe(1);
  });

  it('ignores preferences for a workflow with override_preferences, and honours commercial_subscribed', async () => {
    await t.knock.users.update('ada', { preferences: { default: { channel_types: { in_app_feed: false } } } } as any);
    await t.knock.users.update('bob', { preferences: { default: { commercial_subscribed: false } } } as any);
    await t.knock.workflows.trigger('password-reset', { recipients: ['ada'] });
    await t.knock.workflows.trigger('promo', { recipients: ['bob'] });
    await t.knock.workflows.trigger('alerts', { recipients: ['bob'] });
    await t.drain();
    expect(await deliveredTo('ada')).toBe(1);
    const bobs = (await t.knock.users.listMessages('bob')).items.map((m) => m.source.key);
    expect(bobs).toEqual(['alerts']);
  });
});
