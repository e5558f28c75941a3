import { describe, expect, it } from 'vitest';
import { resolveDelayUntil } from '../../src/domain/duration.js';
import { nextWindowRuleTime, runTimeZone } from '../../src/domain/window-rule.js';

const NY = 'America/New_York';

/** The next match of a rule after `now` in `zone`, as an ISO string (or the reason it has none). */
function next(rule: Record<string, unknown>, now: string, zone = 'UTC'): string {
  const r = nextWindowRuleTime(rule as any, new Date(now), zone);
  return r.ok ? r.until.toISOString() : `invalid: ${r.reason}`;
}

describe('window rules: the next matching instant after now', () => {
  it('daily: today at hours:minutes if still ahead, else tomorrow', () => {
    expect(next({ frequency: 'daily', hours: 9, minutes: 30 }, '2026-03-04T08:00:00Z')).toBe('2026-03-04T09:30:00.000Z');
    expect(next({ frequency: 'daily', hours: 9, minutes: 30 }, '2026-03-04T10:00:00Z')).toBe('2026-03-05T09:30:00.000Z');
  });

  it('is strictly after now: at 09:00 exactly, "daily at 9" is tomorrow', () => {
    expect(next({ frequency: 'daily', hours: 9 }, '2026-03-04T09:00:00Z')).toBe('2026-03-05T09:00:00.000Z');
  });

  it('hours and minutes default to 0 (midnight)', () => {
    expect(next({ frequency: 'daily' }, '2026-03-04T10:00:00Z')).toBe('2026-03-05T00:00:00.000Z');
  });

  it('"weekdays" from a Friday afternoon waits until Monday morning', () => {
    // 2026-03-06 is a Friday; 14:00 in New York (EST, UTC-5).
    expect(next({ frequency: 'daily', days: 'weekdays', hours: 9 }, '2026-03-06T19:00:00Z', NY)).toBe('2026-03-09T13:00:00.000Z');
  });

  it('weekly on listed days, and weekly without days on today\'s weekday', () => {
    expect(next({ frequency: 'weekly', days: ['tue', 'thu'], hours: 8 }, '2026-03-04T12:00:00Z')).toBe('2026-03-05T08:00:00.000Z');
    expect(next({ frequency: 'weekly', hours: 8 }, '2026-03-04T12:00:00Z')).toBe('2026-03-11T08:00:00.000Z');
  });

  it('hourly at a minute mark', () => {
    expect(next({ frequency: 'hourly', minutes: 15 }, '2026-03-04T12:20:00Z')).toBe('2026-03-04T13:15:00.000Z');
  });

  it('monthly on day_of_month, the last day when the month is shorter', () => {
    expect(next({ frequency: 'monthly', day_of_month: 31, hours: 6 }, '2026-02-10T00:00:00Z')).toBe('2026-02-28T06:00:00.000Z');
    expect(next({ frequency: 'monthly', day_of_month: 1 }, '2026-02-10T00:00:00Z')).toBe('2026-03-01T00:00:00.000Z');
  });

  it('keeps local wall time across a DST change (New York springs forward on 2026-03-08)', () => {
    // Saturday 10:00 EST -> Sunday 09:00 EDT, 23 hours later.
    expect(next({ frequency: 'daily', hours: 9 }, '2026-03-07T15:00:00Z', NY)).toBe('2026-03-08T13:00:00.000Z');
    // A wall time inside the skipped hour happens just after the gap.
    expect(next({ frequency: 'daily', hours: 2, minutes: 30 }, '2026-03-07T15:00:00Z', NY)).toBe('2026-03-08T07:30:00.000Z');
  });

  it('explains an invalid rule', () => {
    expect(next({ frequency: 'fortnightly' }, '2026-03-04T00:00:00Z')).toMatch(/^invalid: invalid window rule: frequency must be one of/);
    expect(next({ frequency: 'daily', minutes: 7 }, '2026-03-04T00:00:00Z')).toMatch(/minutes must be one of 0, 5/);
  });
});

describe('the zone a run\'s rules use', () => {
  it('is the recipient\'s timezone, else the tenant\'s (timezone or settings.timezone), else UTC', () => {
    expect(runTimeZone({ recipient: { timezone: 'Asia/Tokyo' }, tenant: { timezone: NY } })).toBe('Asia/Tokyo');
    expect(runTimeZone({ recipient: { timezone: 'Not/AZone' }, tenant: { timezone: NY } })).toBe(NY);
    expect(runTimeZone({ recipient: {}, tenant: { settings: { timezone: 'Europe/Paris' } } })).toBe('Europe/Paris');
    expect(runTimeZone({ recipient: {}, tenant: null })).toBe('UTC');
  });
});

describe('delay_until_field_path holding a window rule', () => {
  const now = new Date('2026-03-04T12:00:00Z');

  it('waits until the rule\'s next match in the recipient\'s timezone', () => {
    const scope = { data: { until: { frequency: 'daily', hours: 9 } }, recipient: { timezone: 'Asia/Tokyo' } };
    // 12:00Z is 21:00 in Tokyo; the next 09:00 there is 00:00Z the next day.
    expect(resolveDelayUntil({ delay_until_field_path: 'data.until' }, scope, now)).toEqual({ ok: true, until: new Date('2026-03-05T00:00:00Z') });
  });

  it('applies delay_for as an offset from the rule\'s match', () => {
    const scope = { data: { until: { frequency: 'daily', hours: 18 } } };
    expect(resolveDelayUntil({ delay_until_field_path: 'until', delay_for: { unit: 'minutes', value: -30 } }, scope, now))
      .toEqual({ ok: true, until: new Date('2026-03-04T17:30:00Z') });
  });

  it('skips (with the reason) when the rule is invalid', () => {
    const r = resolveDelayUntil({ delay_until_field_path: 'data.until' }, { data: { until: { frequency: 'daily', hours: 25 } } }, now);
    expect(r).toEqual({ ok: false, reason: expect.stringContaining('hours must be an integer from 0 to 23') });
  });
});
