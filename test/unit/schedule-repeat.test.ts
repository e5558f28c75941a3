import { describe, expect, it } from 'vitest';
import {
  nextRuleOccurrence, parseRepeatRules, planFiring, rulesThatNeverOccur, scheduleZone, upcomingOccurrence,
  type RepeatRule, type RepeatRuleInput, type ScheduleTiming,
} from '../../src/domain/schedule-repeat.js';

const NY = 'America/New_York';

function rules(...input: RepeatRuleInput[]): RepeatRule[] {
  const parsed = parseRepeatRules(input);
  expect(parsed.errors).toEqual([]);
  return parsed.rules;
}

/** The first `n` occurrences at or after `from`, as ISO strings. */
function occurrences(r: RepeatRule[], from: string, n: number, zone = 'UTC', anchor = from): string[] {
  const out: string[] = [];
  let at = new Date(from);
  for (let i = 0; i < n; i++) {
    const next = nextRuleOccurrence(r, at, new Date(anchor), zone);
    if (!next) break;
    out.push(next.toISOString());
    at = new Date(next.getTime() + 1);
  }
  return out;
}

const timing = (t: Partial<ScheduleTiming>): ScheduleTiming => ({ repeats: [], scheduledAt: null, endingAt: null, insertedAt: new Date('2026-01-01T00:00:00Z'), ...t });

describe('parsing repeat rules', () => {
  it('fills interval 1, keeps unset fields null and expands the day shorthands', () => {
    expect(parseRepeatRules([{ frequency: 'daily', days: 'weekdays' }, { frequency: 'weekly', days: 'weekends', hours: 9 }]).rules).toEqual([
      { frequency: 'daily', interval: 1, days: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: null, minutes: null, day_of_month: null },
      { frequency: 'weekly', interval: 1, days: ['sat', 'sun'], hours: 9, minutes: null, day_of_month: null },
    ]);
  });

  it('orders listed days Monday first and treats an empty list as no filter', () => {
    expect(parseRepeatRules([{ frequency: 'weekly', days: ['fri', 'mon'] }, { frequency: 'daily', days: [] }]).rules.map((r) => r.days)).toEqual([['mon', 'fri'], null]);
  });

  it('names every out-of-range field of every rule', () => {
    const { errors } = parseRepeatRules([
      { frequency: 'yearly' },
      { frequency: 'daily', interval: 0, hours: 24, minutes: 7, day_of_month: 32, days: ['mon', 'tues'] },
      { frequency: 'hourly', days: 'someday' },
    ]);
    expect(errors.map((e) => e.field)).toEqual([
      'repeats[0].frequency',
      'repeats[1].interval', 'repeats[1].days', 'repeats[1].hours', 'repeats[1].minutes', 'repeats[1].day_of_month',
      'repeats[2].days',
    ]);
    expect(errors.every((e) => e.type === 'invalid')).toBe(true);
  });

  it('accepts minutes only in steps of five', () => {
    expect(parseRepeatRules([{ frequency: 'daily', minutes: 55 }]).errors).toEqual([]);
    expect(parseRepeatRules([{ frequency: 'daily', minutes: 59 }]).errors[0].message).toBe('must be one of 0, 5, 10, ..., 55');
  });
});

describe('time zone', () => {
  it("uses the recipient's valid zone, else the account's, else UTC", () => {
    expect(scheduleZone('Europe/Paris', 'Asia/Tokyo')).toBe('Europe/Paris');
    expect(scheduleZone('Mars/Olympus', 'Asia/Tokyo')).toBe('Asia/Tokyo');
    expect(scheduleZone(null)).toBe('UTC');
    expect(scheduleZone(42, 'Nowhere/Else')).toBe('UTC');
  });
});

describe('daily', () => {
  it('runs at 09:00 New York time: 14:00Z in winter, 13:00Z after the spring DST change, 14:00Z again after fall', () => {
    const daily9 = rules({ frequency: 'daily', hours: 9 });
    expect(occurrences(daily9, '2026-03-06T15:00:00Z', 4, NY)).toEqual([
      '2026-03-07T14:00:00.000Z', '2026-03-08T13:00:00.000Z', '2026-03-09T13:00:00.000Z', '2026-03-10T13:00:00.000Z',
    ]);
    expect(occurrences(daily9, '2026-10-30T15:00:00Z', 3, NY)).toEqual([
      '2026-10-31T13:00:00.000Z', '2026-11-01T14:00:00.000Z', '2026-11-02T14:00:00.000Z',
    ]);
  });

  it('a wall time skipped by spring-forward fires just after the gap (02:30 -> 03:30 EDT)', () => {
    expect(occurrences(rules({ frequency: 'daily', hours: 2, minutes: 30 }), '2026-03-07T12:00:00Z', 3, NY)).toEqual([
      '2026-03-08T07:30:00.000Z', // 03:30 EDT: 02:30 does not exist that night
      '2026-03-09T06:30:00.000Z', // 02:30 EDT
      '2026-03-10T06:30:00.000Z',
    ]);
  });

  it('a wall time repeated by fall-back fires once, at the first of the two', () => {
    expect(occurrences(rules({ frequency: 'daily', hours: 1, minutes: 30 }), '2026-10-31T12:00:00Z', 3, NY)).toEqual([
      '2026-11-01T05:30:00.000Z', // 01:30 EDT; 01:30 EST (06:30Z) is not a second occurrence
      '2026-11-02T06:30:00.000Z',
      '2026-11-03T06:30:00.000Z',
    ]);
  });

  it('days "weekdays" skips the weekend (2026-03-07/08 are Saturday and Sunday)', () => {
    expect(occurrences(rules({ frequency: 'daily', days: 'weekdays', hours: 9, minutes: 30 }), '2026-03-05T12:00:00Z', 3)).toEqual([
      '2026-03-06T09:30:00.000Z', '2026-03-09T09:30:00.000Z', '2026-03-10T09:30:00.000Z',
    ]);
  });

  it('interval 3 counts days from the anchor', () => {
    expect(occurrences(rules({ frequency: 'daily', interval: 3 }), '2026-03-02T00:00:00Z', 3, 'UTC', '2026-03-01T00:00:00Z')).toEqual([
      '2026-03-04T00:00:00.000Z', '2026-03-07T00:00:00.000Z', '2026-03-10T00:00:00.000Z',
    ]);
  });

  it('hours and minutes default to midnight', () => {
    expect(occurrences(rules({ frequency: 'daily' }), '2026-03-02T00:00:01Z', 1, 'Asia/Tokyo')).toEqual(['2026-03-02T15:00:00.000Z']);
  });
});

describe('weekly', () => {
  it('runs on each listed day at the given local time (Mon/Wed/Fri 18:00 Berlin, across the March DST change)', () => {
    expect(occurrences(rules({ frequency: 'weekly', days: ['mon', 'wed', 'fri'], hours: 18 }), '2026-03-23T00:00:00Z', 5, 'Europe/Berlin')).toEqual([
      '2026-03-23T17:00:00.000Z', '2026-03-25T17:00:00.000Z', '2026-03-27T17:00:00.000Z',
      '2026-03-30T16:00:00.000Z', // CEST from 2026-03-29
      '2026-04-01T16:00:00.000Z',
    ]);
  });

  it('interval 2 runs every other week, counted from the anchor\'s week', () => {
    // Anchor Wednesday 2026-03-04: weeks of Mar 2, Mar 16, Mar 30 qualify.
    expect(occurrences(rules({ frequency: 'weekly', interval: 2, days: ['mon', 'fri'], hours: 8 }), '2026-03-04T00:00:00Z', 4)).toEqual([
      '2026-03-06T08:00:00.000Z', '2026-03-16T08:00:00.000Z', '2026-03-20T08:00:00.000Z', '2026-03-30T08:00:00.000Z',
    ]);
  });

  it('without days it runs on the anchor\'s weekday', () => {
    expect(occurrences(rules({ frequency: 'weekly', hours: 12 }), '2026-03-05T13:00:00Z', 2, 'UTC', '2026-03-05T13:00:00Z')).toEqual([
      '2026-03-12T12:00:00.000Z', '2026-03-19T12:00:00.000Z',
    ]);
  });
});

describe('monthly', () => {
  it('day_of_month 31 runs on the last day of shorter months (documented choice: clamp, never skip)', () => {
    expect(occurrences(rules({ frequency: 'monthly', day_of_month: 31, hours: 10 }), '2026-01-01T00:00:00Z', 5)).toEqual([
      '2026-01-31T10:00:00.000Z', '2026-02-28T10:00:00.000Z', '2026-03-31T10:00:00.000Z', '2026-04-30T10:00:00.000Z', '2026-05-31T10:00:00.000Z',
    ]);
    expect(occurrences(rules({ frequency: 'monthly', day_of_month: 30 }), '2028-02-01T00:00:00Z', 1)).toEqual(['2028-02-29T00:00:00.000Z']);
  });

  it('interval 3 runs quarterly from the anchor month', () => {
    expect(occurrences(rules({ frequency: 'monthly', interval: 3, day_of_month: 15 }), '2026-02-01T00:00:00Z', 3, 'UTC', '2026-01-10T00:00:00Z')).toEqual([
      '2026-04-15T00:00:00.000Z', '2026-07-15T00:00:00.000Z', '2026-10-15T00:00:00.000Z',
    ]);
  });

  it('without day_of_month it runs on the anchor\'s day, clamped', () => {
    expect(occurrences(rules({ frequency: 'monthly', hours: 6 }), '2026-01-31T07:00:00Z', 3, 'UTC', '2026-01-31T00:00:00Z')).toEqual([
      '2026-02-28T06:00:00.000Z', '2026-03-31T06:00:00.000Z', '2026-04-30T06:00:00.000Z',
    ]);
  });

  it('with days and no day_of_month it runs on those weekdays of the month', () => {
    expect(occurrences(rules({ frequency: 'monthly', days: ['sun'], hours: 9 }), '2026-03-01T00:00:00Z', 3, 'UTC')).toEqual([
      '2026-03-01T09:00:00.000Z', '2026-03-08T09:00:00.000Z', '2026-03-15T09:00:00.000Z',
    ]);
  });
});

describe('hourly', () => {
  it('fires every real hour through fall-back: 01:00 EDT and 01:00 EST are both hours', () => {
    expect(occurrences(rules({ frequency: 'hourly' }), '2026-11-01T03:30:00Z', 4, NY)).toEqual([
      '2026-11-01T04:00:00.000Z', '2026-11-01T05:00:00.000Z', '2026-11-01T06:00:00.000Z', '2026-11-01T07:00:00.000Z',
    ]);
  });

  it('fires every real hour through spring-forward: 01:00 EST is followed by 03:00 EDT', () => {
    expect(occurrences(rules({ frequency: 'hourly', minutes: 15 }), '2026-03-08T05:30:00Z', 3, NY)).toEqual([
      '2026-03-08T06:15:00.000Z', '2026-03-08T07:15:00.000Z', '2026-03-08T08:15:00.000Z',
    ]);
  });

  it('interval 3 counts hours from the anchor, at the local minute in a half-hour-offset zone', () => {
    // Asia/Kolkata is UTC+05:30: local minute 15 is UTC minute 45.
    expect(occurrences(rules({ frequency: 'hourly', interval: 3, minutes: 15 }), '2026-03-01T10:00:00Z', 3, 'Asia/Kolkata', '2026-03-01T10:00:00Z')).toEqual([
      '2026-03-01T10:45:00.000Z', '2026-03-01T13:45:00.000Z', '2026-03-01T16:45:00.000Z',
    ]);
  });

  it('hours and days act as filters', () => {
    expect(occurrences(rules({ frequency: 'hourly', hours: 9, days: ['mon'] }), '2026-03-01T00:00:00Z', 2, 'UTC')).toEqual([
      '2026-03-02T09:00:00.000Z', '2026-03-09T09:00:00.000Z',
    ]);
  });
});

describe('several rules', () => {
  it('fire at the union of their occurrences, once per instant', () => {
    const both = rules({ frequency: 'weekly', days: ['mon'], hours: 9 }, { frequency: 'daily', days: ['mon', 'tue'], hours: 9 }, { frequency: 'weekly', days: ['fri'], hours: 17 });
    expect(occurrences(both, '2026-03-02T00:00:00Z', 4)).toEqual([
      '2026-03-02T09:00:00.000Z', '2026-03-03T09:00:00.000Z', '2026-03-06T17:00:00.000Z', '2026-03-09T09:00:00.000Z',
    ]);
  });

  it('reports a rule that can never occur', () => {
    // Every 7 days from a Tuesday anchor never lands on a Monday.
    const never = rules({ frequency: 'daily' }, { frequency: 'daily', interval: 7, days: ['mon'] });
    expect(rulesThatNeverOccur(never, new Date('2026-03-03T00:00:00Z'), 'UTC')).toEqual([1]);
  });
});

describe('a schedule\'s upcoming occurrence', () => {
  const now = new Date('2026-03-02T12:00:00Z');

  it('a one-off waits for scheduled_at, and once fired waits for nothing', () => {
    const t = timing({ scheduledAt: new Date('2026-03-05T08:00:00Z') });
    expect(upcomingOccurrence(t, now, 'UTC')?.toISOString()).toBe('2026-03-05T08:00:00.000Z');
    expect(upcomingOccurrence(t, now, 'UTC', new Date('2026-03-05T08:00:00Z'))).toBeNull();
  });

  it('a one-off scheduled in the past is due at once', () => {
    expect(upcomingOccurrence(timing({ scheduledAt: new Date('2026-03-01T08:00:00Z') }), now, 'UTC')?.toISOString()).toBe('2026-03-01T08:00:00.000Z');
  });

  it('a recurrence starts at scheduled_at (inclusive) when that is later than now', () => {
    const t = timing({ repeats: rules({ frequency: 'daily', hours: 9 }), scheduledAt: new Date('2026-03-10T09:00:00Z') });
    expect(upcomingOccurrence(t, now, 'UTC')?.toISOString()).toBe('2026-03-10T09:00:00.000Z');
  });

  it('a recurrence without scheduled_at starts at its next occurrence after now', () => {
    const t = timing({ repeats: rules({ frequency: 'daily', hours: 9 }) });
    expect(upcomingOccurrence(t, now, NY)?.toISOString()).toBe('2026-03-02T14:00:00.000Z');
  });

  it('nothing after ending_at', () => {
    const t = timing({ repeats: rules({ frequency: 'daily', hours: 9 }), endingAt: new Date('2026-03-02T13:00:00Z') });
    expect(upcomingOccurrence(t, now, 'UTC')).toBeNull();
    expect(upcomingOccurrence(timing({ scheduledAt: new Date('2026-03-05T00:00:00Z'), endingAt: new Date('2026-03-04T00:00:00Z') }), now, 'UTC')).toBeNull();
  });

  it('an update never re-fires the occurrence that already fired', () => {
    const t = timing({ repeats: rules({ frequency: 'daily', hours: 12 }) });
    expect(upcomingOccurrence(t, now, 'UTC', now)?.toISOString()).toBe('2026-03-03T12:00:00.000Z');
  });
});

describe('firing', () => {
  const daily9 = timing({ repeats: rules({ frequency: 'daily', hours: 9 }) });

  it('on time: fires the due occurrence and moves to the next one', () => {
    const due = new Date('2026-03-02T09:00:00Z');
    const plan = planFiring(daily9, due, due, 'UTC');
    expect(plan).toEqual({ fire: due, next: new Date('2026-03-03T09:00:00Z') });
  });

  it('after missed occurrences: fires once, for the latest one that has come, then continues after now', () => {
    const plan = planFiring(daily9, new Date('2026-03-02T09:00:00Z'), new Date('2026-03-05T12:00:00Z'), 'UTC');
    expect(plan).toEqual({ fire: new Date('2026-03-05T09:00:00Z'), next: new Date('2026-03-06T09:00:00Z') });
  });

  it('missed occurrences past ending_at: fires the last one before the end and finishes', () => {
    const ending = timing({ ...daily9, endingAt: new Date('2026-03-04T10:00:00Z') });
    const plan = planFiring(ending, new Date('2026-03-02T09:00:00Z'), new Date('2026-03-06T12:00:00Z'), 'UTC');
    expect(plan).toEqual({ fire: new Date('2026-03-04T09:00:00Z'), next: null });
  });

  it('a one-off fires and finishes', () => {
    const due = new Date('2026-03-02T10:00:00Z');
    expect(planFiring(timing({ scheduledAt: due }), due, new Date('2026-03-03T00:00:00Z'), 'UTC')).toEqual({ fire: due, next: null });
  });
});
