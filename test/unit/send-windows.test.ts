import { describe, expect, it } from 'vitest';
import { isSendWindowOpen, nextSendTime, parseSendWindows, type SendWindowPlan } from '../../src/domain/send-windows.js';

const NY = 'America/New_York';
const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'];

/** Monday to Friday 09:00–18:00, weekends closed: Knock's own example. */
const workingHours = [
  ...WEEKDAYS.map((day) => ({ day, type: 'send', from: '09:00:00', until: '18:00:00' })),
  { day: 'saturday', type: 'do_not_send' },
  { day: 'sunday', type: 'do_not_send' },
];

function plan(raw: unknown): SendWindowPlan {
  const parsed = parseSendWindows(raw);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.plan;
}

const nextAt = (raw: unknown, now: string, zone = 'UTC') => nextSendTime(plan(raw), new Date(now), zone)?.toISOString() ?? null;

describe('send windows', () => {
  it('send now when inside a window (from inclusive, until exclusive)', () => {
    // 2026-03-04 is a Wednesday.
    expect(nextAt(workingHours, '2026-03-04T09:00:00Z')).toBe('2026-03-04T09:00:00.000Z');
    expect(nextAt(workingHours, '2026-03-04T17:59:59Z')).toBe('2026-03-04T17:59:59.000Z');
    expect(nextAt(workingHours, '2026-03-04T18:00:00Z')).toBe('2026-03-05T09:00:00.000Z');
  });

  it('before the window opens, wait for it the same day', () => {
    expect(nextAt(workingHours, '2026-03-04T06:15:00Z')).toBe('2026-03-04T09:00:00.000Z');
  });

  it('on a Friday evening, wait over the closed weekend until Monday', () => {
    expect(nextAt(workingHours, '2026-03-06T19:00:00Z')).toBe('2026-03-09T09:00:00.000Z');
  });

  it('reads the wall clock of the recipient\'s zone', () => {
    // 15:00Z on Wednesday is 10:00 in New York (open) but 00:00 Thursday in Tokyo (closed).
    expect(isSendWindowOpen(plan(workingHours), new Date('2026-03-04T15:00:00Z'), NY)).toBe(true);
    expect(isSendWindowOpen(plan(workingHours), new Date('2026-03-04T15:00:00Z'), 'Asia/Tokyo')).toBe(false);
    expect(nextAt(workingHours, '2026-03-04T15:00:00Z', 'Asia/Tokyo')).toBe('2026-03-05T00:00:00.000Z');
  });

  it('keeps local opening times across a DST change', () => {
    // Friday 2026-03-06 19:00 EST; New York springs forward on Sunday; Monday 09:00 is EDT (UTC-4).
    expect(nextAt(workingHours, '2026-03-07T00:00:00Z', NY)).toBe('2026-03-09T13:00:00.000Z');
    // Falling back (2026-11-01): a window opening at 01:30 opens at the first 01:30 (EDT).
    const earlyHours = [{ day: 'sunday', type: 'send', from: '01:30:00', until: '03:00:00' }];
    expect(nextAt(earlyHours, '2026-11-01T04:00:00Z', NY)).toBe('2026-11-01T05:30:00.000Z');
  });

  it('keeps the seconds of an opening time', () => {
    expect(nextAt([{ day: 'wednesday', type: 'send', from: '09:00:30' }], '2026-03-04T09:00:10Z')).toBe('2026-03-04T09:00:30.000Z');
  });

  it('a day without an entry does not send; from and until default to the whole day', () => {
    expect(nextAt([{ day: 'thursday', type: 'send' }], '2026-03-04T12:00:00Z')).toBe('2026-03-05T00:00:00.000Z');
    expect(nextAt([{ day: 'thursday', type: 'send' }], '2026-03-05T23:59:59Z')).toBe('2026-03-05T23:59:59.000Z');
  });

  it('several send windows on one day are all open', () => {
    const split = [{ day: 'wednesday', type: 'send', from: '08:00', until: '10:00' }, { day: 'wednesday', type: 'send', from: '16:00', until: '18:00' }];
    expect(nextAt(split, '2026-03-04T12:00:00Z')).toBe('2026-03-04T16:00:00.000Z');
  });

  it('no windows means always open; only closed days means never', () => {
    expect(nextAt(null, '2026-03-04T03:00:00Z')).toBe('2026-03-04T03:00:00.000Z');
    expect(nextAt([], '2026-03-04T03:00:00Z')).toBe('2026-03-04T03:00:00.000Z');
    expect(nextAt([{ day: 'monday', type: 'do_not_send' }], '2026-03-04T03:00:00Z')).toBeNull();
  });

  it('rejects malformed entries with the entry named', () => {
    expect(parseSendWindows([{ day: 'funday', type: 'send' }])).toEqual({ ok: false, reason: expect.stringContaining('send_windows[0].day') });
    expect(parseSendWindows([{ day: 'monday', type: 'maybe' }])).toEqual({ ok: false, reason: expect.stringContaining('send_windows[0].type') });
    expect(parseSendWindows([{ day: 'monday', type: 'send', from: '9am' }])).toEqual({ ok: false, reason: expect.stringContaining('send_windows[0].from') });
    expect(parseSendWindows([{ day: 'monday', type: 'send', from: '18:00:00', until: '09:00:00' }])).toEqual({ ok: false, reason: expect.stringContaining('before its until') });
  });
});
