import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { feedTexts, runDetail, runsOf } from '../support/runs.js';

const feed = (ref: string, body: string) => ({ ref, type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: body } });
const plan = (value: string) => ({ all: [{ variable: 'data.plan', operator: 'equal_to', argument: value }] });

const onboarding = {
  key: 'onboarding',
  name: 'Onboarding',
  steps: [
    {
      ref: 'by_plan', type: 'branch',
      branches: [
        { name: 'Enterprise', conditions: plan('enterprise'), steps: [feed('enterprise', 'Your account manager will call')], terminates: true },
        {
          name: 'Pro', conditions: plan('pro'),
          steps: [{
            ref: 'pro_region', type: 'branch',
            branches: [
              { name: 'EU', conditions: { all: [{ variable: 'data.region', operator: 'equal_to', argument: 'eu' }] }, steps: [feed('pro_eu', 'Pro, hosted in Frankfurt')] },
              { name: 'Elsewhere', steps: [feed('pro_other', 'Pro, hosted in Virginia')] },
            ],
          }],
        },
        { name: 'Default', steps: [] },
      ],
    },
    feed('welcome', 'Welcome aboard'),
  ],
};

describe.each(engines)('branch steps (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows: [onboarding] }); });
  afterEach(async () => { await t.close(); });

  it('runs the first matching branch and, when it terminates, nothing after it', async () => {
    await t.knock.workflows.trigger('onboarding', { recipients: ['ada'], data: { plan: 'enterprise' } });
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['Your account manager will call']);
    const run = await runDetail(t, (await runsOf(t, 'onboarding'))[0].id);
    expect(run.events.find((e) => e.step_ref === 'by_plan')?.data).toEqual({ branch: 'Enterprise' });
  });

  it('follows nested branches and continues after the branch step when it does not terminate', async () => {
    await t.knock.workflows.trigger('onboarding', { recipients: ['eu'], data: { plan: 'pro', region: 'eu' } });
    await t.knock.workflows.trigger('onboarding', { recipients: ['us'], data: { plan: 'pro', region: 'us' } });
    await t.drain();
    // Both messages are created in one advance (same clock time), so compare them as sets.
    expect((await feedTexts(t, 'eu')).sort()).toEqual(['Pro, hosted in Frankfurt', 'Welcome aboard']);
    expect((await feedTexts(t, 'us')).sort()).toEqual(['Pro, hosted in Virginia', 'Welcome aboard']);
  });

  it('takes the default branch (here empty) when no condition matches', async () => {
    await t.knock.workflows.trigger('onboarding', { recipients: ['bob'], data: { plan: 'free' } });
    await t.drain();
    expect(await feedTexts(t, 'bob')).toEqual(['Welcome aboard']);
  });

  it('refuses, at load time, a branch step without a default branch, with conditions of its own, or nested too deep', async () => {
    let nested: Record<string, unknown> = feed('leaf', 'deep');
    for (let i = 0; i < 6; i++) nested = { ref: `b${i}`, type: 'branch', branches: [{ name: 'D', steps: [nested] }] };
    const other = await startTestHerald(engine, {
      workflows: [
        { key: 'no_default', name: 'No default', steps: [{ ref: 'x', type: 'branch', branches: [{ name: 'A', conditions: plan('a'), steps: [] }] }] },
        { key: 'own_conditions', name: 'Own conditions', steps: [{ ref: 'x', type: 'branch', conditions: plan('a'), branches: [{ name: 'D', steps: [] }] }] },
        { key: 'too_deep', name: 'Too deep', steps: [nested] },
      ],
    });
    try {
      const errors = other.herald.workflows.errors.map((e) => `${e.field}: ${e.message}`);
      expect(errors).toEqual(expect.arrayContaining([
        'steps[0].branches: needs a default branch (one without conditions)',
        'steps[0].conditions: is not allowed on branch steps; put conditions on the branches',
        expect.stringMatching(/nested more than 5 deep/),
      ]));
      expect((await http(other, 'POST', '/v1/workflows/no_default/trigger', { recipients: ['ada'] })).status).toBe(404);
    } finally {
      await other.close();
    }
  });
});
