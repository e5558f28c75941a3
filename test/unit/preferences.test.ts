import { describe, expect, it } from 'vitest';
import {
  decidePreferences,
  explainPreferences,
  mergePreferenceLayers,
  type PreferenceDecisionInput,
  type PreferenceLayer,
  type PreferenceSet,
} from '../../src/domain/preferences.js';
import type { ConditionScope } from '../../src/domain/conditions.js';
import type { Condition } from '../../src/domain/condition-types.js';

const now = new Date('2026-03-10T12:00:00Z');

const RT = `recipient's "acme" preference set`;
const RD = `recipient's "default" preference set`;
const TD = `tenant "acme" default preferences`;
const ENV = 'environment default preferences';

const isPro: Condition = { variable: 'recipient.plan', operator: 'equal_to', argument: 'pro' };

interface Row {
  name: string;
  recipientTenant?: PreferenceSet;
  recipientDefault?: PreferenceSet;
  tenantDefault?: PreferenceSet;
  environment?: PreferenceSet;
  workflow?: Partial<PreferenceDecisionInput['workflow']>;
  channel?: { id: string; type: string };
  scope?: ConditionScope;
  allowed: boolean;
  reason: string;
  layer?: string;
  key?: string;
}

function layersOf(row: Row): PreferenceLayer[] {
  return [
    { name: RT, set: row.recipientTenant },
    { name: RD, set: row.recipientDefault },
    { name: TD, set: row.tenantDefault },
    { name: ENV, set: row.environment },
  ];
}

const rows: Row[] = [
  // Basics
  { name: 'defaults to allowed with no sets', allowed: true, reason: 'allowed: no preference applies' },
  {
    name: 'defaults to allowed when nothing relevant is set',
    recipientDefault: { workflows: { other: false }, categories: { other: false }, channel_types: { sms: false }, channels: { ch_other: false } },
    allowed: true,
    reason: 'allowed: no preference applies',
  },
  {
    name: 'workflow false blocks',
    recipientDefault: { workflows: { welcome: false } },
    allowed: false,
    reason: `blocked by the recipient's "default" preference set: workflows.welcome is false`,
    layer: RD,
    key: 'workflows.welcome',
  },
  {
    name: 'workflow true allows and says where from',
    recipientDefault: { workflows: { welcome: true } },
    allowed: true,
    reason: `allowed: workflows.welcome is true in the recipient's "default" preference set`,
    layer: RD,
  },
  {
    name: 'one of several categories false blocks',
    recipientDefault: { categories: { product: true, marketing: false } },
    workflow: { categories: ['product', 'marketing'] },
    allowed: false,
    reason: `blocked by the ${RD}: categories.marketing is false`,
    key: 'categories.marketing',
  },
  {
    name: 'all categories true allows',
    recipientDefault: { categories: { product: true, marketing: true } },
    workflow: { categories: ['product', 'marketing'] },
    allowed: true,
    reason: `categories.marketing is true in the ${RD}`,
  },
  {
    name: 'category false wins over channel true',
    recipientDefault: { categories: { marketing: false }, channels: { ch_email: true } },
    workflow: { categories: ['marketing'] },
    allowed: false,
    reason: `blocked by the ${RD}: categories.marketing is false`,
  },
  // Narrowing with nested channel settings
  {
    name: 'category object narrows: its channel type false blocks that type',
    recipientDefault: { categories: { marketing: { channel_types: { email: false } } } },
    workflow: { categories: ['marketing'] },
    allowed: false,
    reason: `blocked by the ${RD}: categories.marketing.channel_types.email is false`,
    key: 'categories.marketing.channel_types.email',
  },
  {
    name: 'category object narrows: other channel types still send',
    recipientDefault: { categories: { marketing: { channel_types: { email: false } } } },
    workflow: { categories: ['marketing'] },
    channel: { id: 'ch_sms', type: 'sms' },
    allowed: true,
    reason: 'allowed: no preference applies',
  },
  {
    name: 'workflow object narrows by channel id',
    recipientDefault: { workflows: { welcome: { channels: { ch_email: false } } } },
    allowed: false,
    reason: `blocked by the ${RD}: workflows.welcome.channels.ch_email is false`,
  },
  // Channel beats channel type
  {
    name: 'channel true beats channel type false',
    recipientDefault: { channel_types: { email: false }, channels: { ch_email: true } },
    allowed: true,
    reason: `channels.ch_email is true (a channel setting takes precedence over channel_types.email) in the ${RD}`,
    key: 'channels.ch_email',
  },
  {
    name: 'channel false beats channel type true',
    recipientDefault: { channel_types: { email: true }, channels: { ch_email: false } },
    allowed: false,
    reason: `blocked by the ${RD}: channels.ch_email is false`,
    key: 'channels.ch_email',
  },
  {
    name: 'channel type false blocks',
    tenantDefault: { channel_types: { in_app_feed: false } },
    channel: { id: 'ch_feed', type: 'in_app_feed' },
    allowed: false,
    reason: `blocked by the tenant "acme" default preferences: channel_types.in_app_feed is false`,
    layer: TD,
  },
  // Conditions
  {
    name: 'conditions passing on a channel type allow',
    recipientDefault: { channel_types: { email: { conditions: [isPro] } } },
    scope: { recipient: { plan: 'pro' } },
    allowed: true,
    reason: `the conditions on channel_types.email passed in the ${RD}`,
  },
  {
    name: 'conditions failing on a channel type block',
    recipientDefault: { channel_types: { email: { conditions: [isPro] } } },
    scope: { recipient: { plan: 'free' } },
    allowed: false,
    reason: `blocked by the ${RD}: the conditions on channel_types.email did not pass`,
  },
  {
    name: 'conditions failing on a workflow setting block',
    recipientDefault: { workflows: { welcome: { conditions: [isPro] } } },
    scope: { recipient: { plan: 'free' } },
    allowed: false,
    reason: `blocked by the ${RD}: the conditions on workflows.welcome did not pass`,
  },
  {
    name: 'conditions passing on a workflow setting allow',
    recipientDefault: { workflows: { welcome: { conditions: [isPro] } } },
    scope: { recipient: { plan: 'pro' } },
    allowed: true,
    reason: `the conditions on workflows.welcome passed in the ${RD}`,
  },
  // Commercial
  {
    name: 'commercial_subscribed false blocks a commercial workflow',
    recipientDefault: { commercial_subscribed: false },
    workflow: { isCommercial: true },
    allowed: false,
    reason: `blocked by the ${RD}: commercial_subscribed is false and workflow "welcome" is commercial`,
    key: 'commercial_subscribed',
  },
  {
    name: 'commercial_subscribed false does not block a non-commercial workflow',
    recipientDefault: { commercial_subscribed: false },
    allowed: true,
    reason: 'allowed: no preference applies',
  },
  {
    name: 'commercial_subscribed conditions failing block a commercial workflow',
    recipientDefault: { commercial_subscribed: { conditions: [isPro] } },
    workflow: { isCommercial: true },
    scope: { recipient: { plan: 'free' } },
    allowed: false,
    reason: `blocked by the ${RD}: the conditions on commercial_subscribed did not pass`,
  },
  // Override
  {
    name: 'override_preferences ignores every preference',
    recipientDefault: { workflows: { welcome: false }, channel_types: { email: false }, commercial_subscribed: false },
    workflow: { overridePreferences: true, isCommercial: true },
    allowed: true,
    reason: 'allowed: workflow "welcome" sets override_preferences',
  },
  // Layering
  {
    name: 'recipient default beats tenant default',
    recipientDefault: { workflows: { welcome: true } },
    tenantDefault: { workflows: { welcome: false } },
    allowed: true,
    reason: `workflows.welcome is true in the ${RD}`,
    layer: RD,
  },
  {
    name: 'tenant default applies where the recipient default is silent',
    recipientDefault: { workflows: { other: true } },
    tenantDefault: { workflows: { welcome: false } },
    allowed: false,
    reason: `blocked by the ${TD}: workflows.welcome is false`,
    layer: TD,
  },
  {
    name: 'tenant-specific recipient set beats the recipient default',
    recipientTenant: { channel_types: { email: true } },
    recipientDefault: { channel_types: { email: false } },
    allowed: true,
    reason: `channel_types.email is true in the ${RT}`,
    layer: RT,
  },
  {
    name: 'tenant-specific recipient set false beats recipient default true',
    recipientTenant: { workflows: { welcome: false } },
    recipientDefault: { workflows: { welcome: true } },
    allowed: false,
    reason: `blocked by the ${RT}: workflows.welcome is false`,
    layer: RT,
  },
  {
    name: 'deep merge: higher layer keys combine with lower layer keys in one setting',
    recipientDefault: { categories: { marketing: { channel_types: { sms: false } } } },
    tenantDefault: { categories: { marketing: { channel_types: { email: false } } } },
    workflow: { categories: ['marketing'] },
    allowed: false,
    reason: `blocked by the ${TD}: categories.marketing.channel_types.email is false`,
  },
  {
    name: '__strategy__ replace in the tenant default overrides the user',
    recipientDefault: { categories: { marketing: true } },
    tenantDefault: { categories: { marketing: { __strategy__: 'replace', channel_types: { email: false } } } },
    workflow: { categories: ['marketing'] },
    allowed: false,
    reason: `blocked by the ${TD}: categories.marketing.channel_types.email is false`,
    layer: TD,
  },
  {
    name: '__strategy__ replace beats a tenant-specific recipient object too',
    recipientTenant: { workflows: { welcome: { channel_types: { email: true } } } },
    tenantDefault: { workflows: { welcome: { __strategy__: 'replace', conditions: [isPro] } } },
    scope: { recipient: { plan: 'free' } },
    allowed: false,
    reason: `blocked by the ${TD}: the conditions on workflows.welcome did not pass`,
  },
  {
    name: 'environment default applies as the lowest layer',
    environment: { channel_types: { email: false } },
    allowed: false,
    reason: `blocked by the environment default preferences: channel_types.email is false`,
    layer: ENV,
  },
  {
    name: 'environment default is overridden by any higher layer',
    tenantDefault: { channel_types: { email: true } },
    environment: { channel_types: { email: false } },
    allowed: true,
    reason: `channel_types.email is true in the ${TD}`,
    layer: TD,
  },
];

describe('decidePreferences', () => {
  it.each(rows)('$name', (row) => {
    const decision = decidePreferences({
      layers: layersOf(row),
      workflow: { key: 'welcome', categories: [], ...row.workflow },
      channel: row.channel ?? { id: 'ch_email', type: 'email' },
      scope: row.scope ?? {},
      now,
    });
    expect(decision.allowed).toBe(row.allowed);
    expect(decision.reason).toContain(row.reason);
    if (row.layer !== undefined) expect(decision.layer).toBe(row.layer);
    if (row.key !== undefined) expect(decision.key).toBe(row.key);
  });
});

describe('mergePreferenceLayers', () => {
  it.each([
    {
      name: 'higher layer wins per key, lower keys fill in',
      layers: [
        { name: RD, set: { workflows: { a: true }, channel_types: { email: false } } },
        { name: TD, set: { workflows: { a: false, b: false }, channel_types: { sms: false } } },
      ],
      expected: { workflows: { a: true, b: false }, channel_types: { email: false, sms: false } },
    },
    {
      name: 'a replace-marked lower value is kept, marker included',
      layers: [
        { name: RD, set: { categories: { m: { channel_types: { sms: true } } } } },
        { name: TD, set: { categories: { m: { __strategy__: 'replace', channel_types: { email: false } } } } },
      ],
      expected: { categories: { m: { __strategy__: 'replace', channel_types: { email: false } } } },
    },
    {
      name: 'absent layers are skipped and id is dropped',
      layers: [
        { name: RT, set: null },
        { name: RD, set: { id: 'default', commercial_subscribed: false } },
        { name: ENV, set: undefined },
      ],
      expected: { commercial_subscribed: false },
    },
  ] satisfies { name: string; layers: PreferenceLayer[]; expected: PreferenceSet }[])('$name', ({ layers, expected }) => {
    expect(mergePreferenceLayers(layers)).toEqual(expected);
  });
});

describe('explaining a decision when no layer has a preference set', () => {
  // Without any set the explanation takes a shortcut; it must say exactly what walking empty sets says.
  const input = (sets: (Record<string, unknown> | null)[], overridePreferences = false): PreferenceDecisionInput => ({
    layers: sets.map((set, i) => ({ name: [RD, ENV][i], set })),
    workflow: { key: 'welcome', categories: ['marketing'], isCommercial: true, overridePreferences },
    channel: { id: 'ch-1', type: 'email' },
    scope: {},
    now,
  });

  it.each([false, true])('agrees with empty sets (override_preferences %s)', (override) => {
    const shortcut = explainPreferences(input([null, null], override));
    const walked = explainPreferences(input([{}, {}], override));
    expect(shortcut).toEqual({ ...walked, layers: [{ name: RD, set: null }, { name: ENV, set: null }] });
    expect(shortcut.allowed).toBe(true);
    expect(shortcut.reason).toBe(override ? 'allowed: workflow "welcome" sets override_preferences, so preferences are ignored' : 'allowed: no preference applies');
  });

  it('still decides on the set of the one layer that has one', () => {
    const e = explainPreferences(input([null, { channel_types: { email: false } }]));
    expect(e.allowed).toBe(false);
    expect(e.decided_by).toEqual({ layer: ENV, key: 'channel_types.email' });
  });
});
