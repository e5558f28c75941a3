import { describe, expect, it } from 'vitest';
import { evaluateCondition, evaluateConditionGroup, evaluateConditions, type ConditionScope } from '../../src/domain/conditions.js';
import type { Condition, ConditionOperator } from '../../src/domain/condition-types.js';

const now = new Date('2026-03-10T12:00:00Z');

const scope: ConditionScope = {
  data: {
    plan: 'pro',
    count: 7,
    count_text: '7',
    limit: 5,
    title: 'Weekly digest',
    tags: ['billing', 'security'],
    nothing: null,
    empty_text: '',
    empty_list: [],
    flag: true,
    due_at: '2026-03-11T08:00:00Z',
    started_at: '2026-03-01T00:00:00Z',
    range: ['2026-03-01T00:00:00Z', '2026-03-31T00:00:00Z'],
  },
  recipient: { id: 'user_1', email: 'ann@example.com', plan: 'pro', subscription: { role: 'admin' } },
  actor: { id: 'actor_1', name: 'Bob' },
  tenant: { id: 'acme', tier: 'gold' },
  vars: { min_count: 3 },
  workflow: { id: 'wf_1', key: 'weekly-digest', name: 'Weekly digest', categories: ['marketing'] },
  run: { total_activities: 4, total_actors: 2 },
  refs: { email_1: { delivery_status: 'sent', engagement_status: ['seen'] } },
};

function check(variable: string, operator: ConditionOperator, argument: Condition['argument'] = null, s: ConditionScope = scope): boolean {
  return evaluateCondition({ variable, operator, argument }, s, now);
}

describe('arguments', () => {
  it('parses a JSON string literal', () => {
    expect(check('data.plan', 'equal_to', '"pro"')).toBe(true);
  });

  it('falls back to the raw text when the argument is not JSON', () => {
    expect(check('data.plan', 'equal_to', 'pro')).toBe(true);
  });

  it('resolves a dynamic argument from the scope', () => {
    expect(check('data.plan', 'equal_to', 'recipient.plan')).toBe(true);
  });

  it('resolves a Liquid-style dynamic argument', () => {
    expect(check('data.count', 'greater_than', '{{ vars.min_count }}')).toBe(true);
  });

  it('treats a missing dynamic argument as an empty string', () => {
    expect(check('data.empty_text', 'equal_to', 'data.does_not_exist')).toBe(true);
  });

  it('reads workflow and run properties', () => {
    expect(check('workflow.key', 'equal_to', 'weekly-digest')).toBe(true);
    expect(check('run.total_activities', 'greater_than_or_equal_to', '4')).toBe(true);
  });

  it('reads the subscription placed on the recipient', () => {
    expect(check('recipient.subscription.role', 'equal_to', '"admin"')).toBe(true);
  });
});

describe('missing variables', () => {
  it('evaluate to an empty string', () => {
    expect(check('data.missing', 'equal_to', '""')).toBe(true);
  });

  it('are not equal to a non-empty argument', () => {
    expect(check('data.missing', 'equal_to', '"pro"')).toBe(false);
  });
});

describe('equal_to / not_equal_to', () => {
  it('compares numerically when both sides are numeric', () => {
    expect(check('data.count_text', 'equal_to', '7.0')).toBe(true);
  });

  it('compares booleans with their JSON spelling', () => {
    expect(check('data.flag', 'equal_to', 'true')).toBe(true);
  });

  it('compares lists structurally', () => {
    expect(check('data.tags', 'equal_to', '["billing","security"]')).toBe(true);
  });

  it('not_equal_to is the negation', () => {
    expect(check('data.plan', 'not_equal_to', '"free"')).toBe(true);
  });
});

describe('ordering operators', () => {
  it('greater_than compares numbers, not text ("7" > "10" as text)', () => {
    expect(check('data.count', 'greater_than', '10')).toBe(false);
  });

  it('less_than is true for a smaller number', () => {
    expect(check('data.limit', 'less_than', 'data.count')).toBe(true);
  });

  it('greater_than_or_equal_to includes equality', () => {
    expect(check('data.count', 'greater_than_or_equal_to', '7')).toBe(true);
  });

  it('less_than_or_equal_to includes equality', () => {
    expect(check('data.count', 'less_than_or_equal_to', '"7"')).toBe(true);
  });

  it('falls back to text comparison when a side is not numeric', () => {
    expect(check('data.plan', 'greater_than', '"basic"')).toBe(true);
  });
});

describe('contains / not_contains', () => {
  it('finds a substring in text', () => {
    expect(check('data.title', 'contains', 'digest')).toBe(true);
  });

  it('finds an item in a list', () => {
    expect(check('data.tags', 'contains', '"billing"')).toBe(true);
  });

  it('finds the text variable in a list argument', () => {
    expect(check('data.plan', 'contains', '["free","pro"]')).toBe(true);
  });

  it('matches a list argument when any item overlaps', () => {
    expect(check('data.tags', 'contains', '["news","security"]')).toBe(true);
  });

  it('not_contains is true when nothing matches', () => {
    expect(check('data.tags', 'not_contains', '"news"')).toBe(true);
  });
});

describe('contains_all / not_contains_all', () => {
  it('needs every argument item in the list', () => {
    expect(check('data.tags', 'contains_all', '["billing","security"]')).toBe(true);
  });

  it('fails when one item is missing', () => {
    expect(check('data.tags', 'contains_all', '["billing","news"]')).toBe(false);
  });

  it('only works on lists', () => {
    expect(check('data.title', 'contains_all', '["Weekly"]')).toBe(false);
  });

  it('not_contains_all is true when some item is missing', () => {
    expect(check('data.tags', 'not_contains_all', '["billing","news"]')).toBe(true);
  });
});

describe('empty / not_empty', () => {
  it('treats null, "", [] and unset as empty', () => {
    for (const variable of ['data.nothing', 'data.empty_text', 'data.empty_list', 'data.missing']) {
      expect(check(variable, 'empty'), variable).toBe(true);
    }
  });

  it('not_empty is true for a value', () => {
    expect(check('data.plan', 'not_empty')).toBe(true);
  });
});

describe('exists / not_exists', () => {
  it('exists is true for a set value, even an empty string', () => {
    expect(check('data.empty_text', 'exists')).toBe(true);
  });

  it('exists is false for null', () => {
    expect(check('data.nothing', 'exists')).toBe(false);
  });

  it('not_exists is true for an unset path', () => {
    expect(check('data.missing', 'not_exists')).toBe(true);
  });
});

describe('timestamp operators', () => {
  it('is_timestamp accepts ISO-8601', () => {
    expect(check('data.due_at', 'is_timestamp')).toBe(true);
  });

  it('is_not_timestamp rejects free text', () => {
    expect(check('data.title', 'is_not_timestamp')).toBe(true);
  });

  it('is_timestamp_before compares with an absolute timestamp', () => {
    expect(check('data.started_at', 'is_timestamp_before', '2026-03-02T00:00:00Z')).toBe(true);
  });

  it('is_timestamp_on_or_after accepts a relative future offset ("1 day" = now + 1 day)', () => {
    expect(check('data.due_at', 'is_timestamp_on_or_after', '1 day')).toBe(false);
    expect(check('data.due_at', 'is_timestamp_on_or_after', 'PT15M')).toBe(true);
  });

  it('is_timestamp_on_or_after accepts a relative past offset ("15 days ago")', () => {
    expect(check('data.started_at', 'is_timestamp_on_or_after', '15 days ago')).toBe(true);
  });

  it('is_timestamp_before accepts a negative ISO duration', () => {
    expect(check('data.started_at', 'is_timestamp_before', '-P7D')).toBe(true);
  });

  it('is_timestamp_before accepts a dynamic argument', () => {
    expect(check('data.started_at', 'is_timestamp_before', 'data.due_at')).toBe(true);
  });

  it('is false when the variable is not a timestamp', () => {
    expect(check('data.title', 'is_timestamp_before', '2030-01-01T00:00:00Z')).toBe(false);
  });

  it('is_timestamp_before_now and is_timestamp_on_or_after_now need no argument', () => {
    expect(check('data.started_at', 'is_timestamp_before_now')).toBe(true);
    expect(check('data.due_at', 'is_timestamp_on_or_after_now')).toBe(true);
  });

  it('is_timestamp_before_date compares UTC calendar dates only', () => {
    expect(check('data.due_at', 'is_timestamp_before_date', '2026-03-11')).toBe(false);
    expect(check('data.due_at', 'is_timestamp_before_date', '2026-03-12')).toBe(true);
  });

  it('is_timestamp_on_or_after_date is true on the same day', () => {
    expect(check('data.due_at', 'is_timestamp_on_or_after_date', '2026-03-11T23:59:00Z')).toBe(true);
  });

  it('is_timestamp_between takes a JSON array of bounds', () => {
    expect(check('data.due_at', 'is_timestamp_between', '["2026-03-01T00:00:00Z","2026-03-31T00:00:00Z"]')).toBe(true);
  });

  it('is_timestamp_between takes "a,b" with inclusive bounds', () => {
    expect(check('data.started_at', 'is_timestamp_between', '2026-03-01T00:00:00Z,2026-03-02T00:00:00Z')).toBe(true);
  });

  it('is_timestamp_between takes a dynamic argument holding both bounds', () => {
    expect(check('data.due_at', 'is_timestamp_between', 'data.range')).toBe(true);
  });

  it('is_timestamp_between is false outside the range', () => {
    expect(check('data.due_at', 'is_timestamp_between', '["2026-04-01T00:00:00Z","2026-05-01T00:00:00Z"]')).toBe(false);
  });
});

describe('is_between', () => {
  it('is inclusive of both numeric bounds', () => {
    expect(check('data.count', 'is_between', '[1,7]')).toBe(true);
  });

  it('accepts "a,b" with dynamic bounds', () => {
    expect(check('data.count', 'is_between', 'vars.min_count,10')).toBe(true);
  });

  it('is false for non-numeric values', () => {
    expect(check('data.plan', 'is_between', '[1,10]')).toBe(false);
  });
});

describe('audience membership', () => {
  const withAudiences: ConditionScope = {
    ...scope,
    isAudienceMember: (audience, recipientId) => audience === 'beta' && recipientId === 'user_1',
  };

  it('is_audience_member asks the lookup with the recipient id', () => {
    expect(check('recipient.id', 'is_audience_member', 'beta', withAudiences)).toBe(true);
  });

  it('is_not_audience_member is the negation', () => {
    expect(check('recipient.id', 'is_not_audience_member', 'alpha', withAudiences)).toBe(true);
  });

  it('without a lookup nobody is a member', () => {
    expect(check('recipient.id', 'is_audience_member', 'beta')).toBe(false);
    expect(check('recipient.id', 'is_not_audience_member', 'beta')).toBe(true);
  });
});

describe('is_in_random_cohort', () => {
  it('includes everyone at 100% and nobody at 0%', () => {
    expect(check('recipient.id', 'is_in_random_cohort', '100')).toBe(true);
    expect(check('recipient.id', 'is_in_random_cohort', '0')).toBe(false);
  });

  it('splits recipients roughly by the percentage, stably', () => {
    const inCohort = Array.from({ length: 1000 }, (_, i) =>
      check('recipient.id', 'is_in_random_cohort', '30', { ...scope, recipient: { id: `user_${i}` } }),
    );
    const share = inCohort.filter(Boolean).length / 1000;
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.35);
    expect(check('recipient.id', 'is_in_random_cohort', '30')).toBe(check('recipient.id', 'is_in_random_cohort', '30'));
  });
});

describe('message status conditions', () => {
  it('compares delivery status along the hierarchy', () => {
    expect(check('refs.email_1.delivery_status', 'greater_than_or_equal_to', '$message.sent')).toBe(true);
    expect(check('refs.email_1.delivery_status', 'less_than', '$message.delivered')).toBe(true);
  });

  it('treats a step without a message as skipped', () => {
    expect(check('refs.sms_1.delivery_status', 'equal_to', '$message.skipped')).toBe(true);
  });

  it('tests engagement with contains', () => {
    expect(check('refs.email_1.engagement_status', 'contains', '$message.seen_not_read')).toBe(true);
    expect(check('refs.email_1.engagement_status', 'not_contains', '$message.read')).toBe(true);
  });
});

describe('unknown operators', () => {
  it('evaluate to false', () => {
    expect(evaluateCondition({ variable: 'data.plan', operator: 'is_fancy' as ConditionOperator, argument: 'pro' }, scope, now)).toBe(false);
  });
});

describe('condition groups', () => {
  const yes: Condition = { variable: 'data.plan', operator: 'equal_to', argument: 'pro' };
  const no: Condition = { variable: 'data.plan', operator: 'equal_to', argument: 'free' };

  it('no group, null or {} means no conditions', () => {
    expect(evaluateConditionGroup(undefined, scope, now)).toBe(true);
    expect(evaluateConditionGroup(null, scope, now)).toBe(true);
    expect(evaluateConditionGroup({} as never, scope, now)).toBe(true);
  });

  it('all needs every condition', () => {
    expect(evaluateConditionGroup({ all: [yes, no] }, scope, now)).toBe(false);
  });

  it('any needs one condition', () => {
    expect(evaluateConditionGroup({ any: [no, yes] }, scope, now)).toBe(true);
  });

  it('nests all inside any', () => {
    expect(evaluateConditionGroup({ any: [{ all: [yes, no] }, { all: [yes] }] }, scope, now)).toBe(true);
  });

  it('a plain list (preference conditions) is ANDed', () => {
    expect(evaluateConditions([yes, no], scope, now)).toBe(false);
    expect(evaluateConditions([yes], scope, now)).toBe(true);
  });
});
