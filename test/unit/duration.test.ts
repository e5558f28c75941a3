import { describe, expect, it } from 'vitest';
import { addDuration, durationToMs, parseDuration, resolveDelayUntil } from '../../src/domain/duration.js';
import { getPath } from '../../src/domain/paths.js';
import { parseTimestamp } from '../../src/domain/timestamps.js';

const now = new Date('2026-03-10T12:00:00Z');

describe('parseDuration', () => {
  it('reads a {unit, value} object', () => {
    expect(parseDuration({ unit: 'minutes', value: 15 })).toEqual({ unit: 'minutes', value: 15 });
  });

  it('tolerates a numeric string value and a singular unit', () => {
    expect(parseDuration({ unit: 'day', value: '3' })).toEqual({ unit: 'days', value: 3 });
  });

  it('rejects fractional values and unknown units', () => {
    expect(parseDuration({ unit: 'minutes', value: 1.5 })).toBeNull();
    expect(parseDuration({ unit: 'fortnights', value: 1 })).toBeNull();
  });

  it('reads ISO-8601 durations, summing mixed parts into the smallest unit', () => {
    expect(parseDuration('PT15M')).toEqual({ unit: 'minutes', value: 15 });
    expect(parseDuration('PT1H30M')).toEqual({ unit: 'minutes', value: 90 });
    expect(parseDuration('P1M')).toEqual({ unit: 'months', value: 1 });
  });

  it('reads shorthand, where "m" is minutes and "mo" months', () => {
    expect(parseDuration('2h')).toEqual({ unit: 'hours', value: 2 });
    expect(parseDuration('15 m')).toEqual({ unit: 'minutes', value: 15 });
    expect(parseDuration('-1 mo')).toEqual({ unit: 'months', value: -1 });
  });

  it('rejects other text', () => {
    expect(parseDuration('soon')).toBeNull();
    expect(parseDuration('P')).toBeNull();
  });
});

describe('addDuration', () => {
  it('adds fixed-length units', () => {
    expect(addDuration(now, { unit: 'weeks', value: 1 }).toISOString()).toBe('2026-03-17T12:00:00.000Z');
  });

  it('adds calendar months, clamping to the end of shorter months', () => {
    expect(addDuration(new Date('2026-01-31T09:00:00Z'), { unit: 'months', value: 1 }).toISOString()).toBe('2026-02-28T09:00:00.000Z');
  });

  it('moves backwards with a negative value', () => {
    expect(addDuration(now, { unit: 'days', value: -2 }).toISOString()).toBe('2026-03-08T12:00:00.000Z');
  });
});

describe('durationToMs', () => {
  it('converts fixed-length units', () => {
    expect(durationToMs({ unit: 'seconds', value: 30 })).toBe(30_000);
  });

  it('has no answer for months', () => {
    expect(durationToMs({ unit: 'months', value: 1 })).toBeNull();
  });
});

describe('parseTimestamp', () => {
  it('reads a zone-less date-time as UTC', () => {
    expect(parseTimestamp('2026-03-10T08:30:00')?.toISOString()).toBe('2026-03-10T08:30:00.000Z');
  });

  it('applies an explicit offset', () => {
    expect(parseTimestamp('2026-03-10T08:30:00+02:00')?.toISOString()).toBe('2026-03-10T06:30:00.000Z');
  });

  it('rejects dates that do not exist and non-ISO text', () => {
    expect(parseTimestamp('2026-02-30')).toBeNull();
    expect(parseTimestamp('March 7')).toBeNull();
  });
});

describe('getPath', () => {
  it('follows dots and bracket indexes', () => {
    expect(getPath({ items: [{ id: 'a' }] }, 'items[0].id')).toBe('a');
    expect(getPath({ items: [{ id: 'a' }] }, 'items.0.id')).toBe('a');
  });

  it('never reaches into prototypes', () => {
    expect(getPath({}, 'constructor')).toBeUndefined();
  });
});

describe('resolveDelayUntil', () => {
  const scope = {
    data: {
      remind_at: '2026-03-12T09:00:00Z',
      past_at: '2026-03-01T00:00:00Z',
      wait: { unit: 'hours', value: 6 },
      window: { frequency: 'daily', hours: 9 },
      bogus: 'next tuesday',
      far: '2028-01-01T00:00:00Z',
    },
    recipient: { trial_ends_at: '2026-03-20T00:00:00Z' },
    actor: {},
    tenant: {},
    vars: {},
  };

  it('fixed: waits delay_for from now', () => {
    expect(resolveDelayUntil({ delay_for: { unit: 'minutes', value: 30 } }, scope, now)).toEqual({
      ok: true,
      until: new Date('2026-03-10T12:30:00Z'),
    });
  });

  it('dynamic: waits until the timestamp at the path', () => {
    expect(resolveDelayUntil({ delay_until_field_path: 'data.remind_at' }, scope, now)).toEqual({
      ok: true,
      until: new Date('2026-03-12T09:00:00Z'),
    });
  });

  it('dynamic: reads recipient paths too', () => {
    expect(resolveDelayUntil({ delay_until_field_path: 'recipient.trial_ends_at' }, scope, now)).toEqual({
      ok: true,
      until: new Date('2026-03-20T00:00:00Z'),
    });
  });

  it('dynamic: a path without a root is read from data', () => {
    expect(resolveDelayUntil({ delay_until_field_path: 'remind_at' }, scope, now)).toEqual({
      ok: true,
      until: new Date('2026-03-12T09:00:00Z'),
    });
  });

  it('dynamic: adds a Duration found at the path to now', () => {
    expect(resolveDelayUntil({ delay_until_field_path: 'data.wait' }, scope, now)).toEqual({
      ok: true,
      until: new Date('2026-03-10T18:00:00Z'),
    });
  });

  it('relative: a negative delay_for waits until that long before the timestamp', () => {
    const result = resolveDelayUntil({ delay_until_field_path: 'recipient.trial_ends_at', delay_for: { unit: 'days', value: -3 } }, scope, now);
    expect(result).toEqual({ ok: true, until: new Date('2026-03-17T00:00:00Z') });
  });

  it('relative: a past timestamp is fine when the offset lands in the future', () => {
    const result = resolveDelayUntil({ delay_until_field_path: 'data.past_at', delay_for: { unit: 'days', value: 14 } }, scope, now);
    expect(result).toEqual({ ok: true, until: new Date('2026-03-15T00:00:00Z') });
  });

  it('relative: skips when the offset lands in the past', () => {
    const result = resolveDelayUntil({ delay_until_field_path: 'data.remind_at', delay_for: { unit: 'days', value: -5 } }, scope, now);
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining('in the past') });
  });

  it('skips a timestamp in the past, naming the path', () => {
    expect(resolveDelayUntil({ delay_until_field_path: 'data.past_at' }, scope, now)).toEqual({
      ok: false,
      reason: 'delay_until_field_path "data.past_at" (2026-03-01T00:00:00.000Z) is in the past',
    });
  });

  it('skips a missing value, naming the path', () => {
    expect(resolveDelayUntil({ delay_until_field_path: 'data.nope' }, scope, now)).toEqual({
      ok: false,
      reason: 'delay_until_field_path "data.nope" has no value',
    });
  });

  it('skips a value that is neither a timestamp nor a duration', () => {
    const result = resolveDelayUntil({ delay_until_field_path: 'data.bogus' }, scope, now);
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining('must hold an ISO-8601 timestamp or a duration') });
  });

  it('waits for a window rule\'s next match (UTC without a timezone; see window-rule.test.ts)', () => {
    const result = resolveDelayUntil({ delay_until_field_path: 'data.window' }, scope, now);
    expect(result).toEqual({ ok: true, until: new Date('2026-03-11T09:00:00Z') });
  });

  it('rejects delays beyond 365 days', () => {
    const result = resolveDelayUntil({ delay_until_field_path: 'data.far' }, scope, now);
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining('365-day maximum') });
  });

  it('accepts twelve calendar months', () => {
    expect(resolveDelayUntil({ delay_for: { unit: 'months', value: 12 } }, scope, now)).toEqual({
      ok: true,
      until: new Date('2027-03-10T12:00:00Z'),
    });
  });

  it('rejects an invalid delay_for', () => {
    const result = resolveDelayUntil({ delay_for: { unit: 'eons', value: 1 } as never }, scope, now);
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining('is not a valid duration') });
  });

  it('rejects settings with neither field', () => {
    expect(resolveDelayUntil({}, scope, now)).toEqual({ ok: false, reason: 'the delay step has neither delay_for nor delay_until_field_path' });
  });
});
