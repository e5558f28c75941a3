/**
 * Channel step send windows (knock-api.md §5.10): `[{day, type: send | do_not_send, from?,
 * until?}]` say on which local days and hours a channel step may create its message. Pure; the
 * wall-clock arithmetic (and its DST handling) is schedule-repeat.ts's.
 *
 * Herald's reading, where Knock's docs leave room:
 * - A window is `[from, until)` on the wall clock of the run's zone (see `runTimeZone`); `from`
 *   defaults to 00:00:00 and `until` to the end of the day. Times are `HH:MM` or `HH:MM:SS`
 *   (`24:00:00` = end of day) and `from` must be before `until`.
 * - Knock expects one entry per day. A day without an entry does not send (so listing Monday to
 *   Friday 09:00–18:00 means "working hours only", as in Knock's own example); several `send`
 *   entries for a day are all open; a `do_not_send` entry closes its whole day (its `from` /
 *   `until` are ignored: Knock only supports them on `send`).
 * - No windows (absent, null or `[]`) = always open.
 */
import { DateTime } from 'luxon';
import { nextRuleOccurrence, WEEKDAYS, type RepeatRule, type Weekday } from './schedule-repeat.js';

export const SEND_WINDOW_DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;

/** One open interval of a weekday, in seconds since local midnight. */
interface OpenWindow {
  day: Weekday;
  from: number;
  until: number;
}

export interface SendWindowPlan {
  /** Open intervals; a day with none is closed. Null = no windows at all (always open). */
  open: OpenWindow[] | null;
}

export type SendWindowParse = { ok: true; plan: SendWindowPlan } | { ok: false; reason: string };

const DAY_SECONDS = 86_400;
const TIME = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/;

/** Seconds since midnight of `HH:MM[:SS]`, or null. `24:00[:00]` is the end of the day. */
function parseTime(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const m = TIME.exec(text.trim());
  if (!m) return null;
  const [h, min, s] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  if (h === 24 && min === 0 && s === 0) return DAY_SECONDS;
  if (h > 23 || min > 59 || s > 59) return null;
  return h * 3600 + min * 60 + s;
}

/** Validates a step's `send_windows`; the reason names the first bad entry. */
export function parseSendWindows(raw: unknown): SendWindowParse {
  if (raw === undefined || raw === null || (Array.isArray(raw) && raw.length === 0)) return { ok: true, plan: { open: null } };
  if (!Array.isArray(raw)) return { ok: false, reason: 'send_windows must be a list of {day, type, from?, until?}' };
  const open: OpenWindow[] = [];
  const closed = new Set<Weekday>();
  for (const [i, entry] of raw.entries()) {
    const at = `send_windows[${i}]`;
    if (typeof entry !== 'object' || entry === null) return { ok: false, reason: `${at} must be an object` };
    const { day, type, from, until } = entry as Record<string, unknown>;
    const dayIndex = typeof day === 'string' ? (SEND_WINDOW_DAYS as readonly string[]).indexOf(day.toLowerCase()) : -1;
    if (dayIndex < 0) return { ok: false, reason: `${at}.day must be one of ${SEND_WINDOW_DAYS.join(', ')}` };
    const weekday = WEEKDAYS[dayIndex];
    if (type === 'do_not_send') {
      closed.add(weekday);
      continue;
    }
    if (type !== 'send') return { ok: false, reason: `${at}.type must be "send" or "do_not_send"` };
    const start = from === undefined || from === null ? 0 : parseTime(from);
    if (start === null) return { ok: false, reason: `${at}.from must be a time like "09:00:00"` };
    const end = until === undefined || until === null ? DAY_SECONDS : parseTime(until);
    if (end === null) return { ok: false, reason: `${at}.until must be a time like "18:00:00"` };
    if (start >= end) return { ok: false, reason: `${at}.from must be before its until` };
    open.push({ day: weekday, from: start, until: end });
  }
  return { ok: true, plan: { open: open.filter((w) => !closed.has(w.day)) } };
}

/** Whether `now`, read on the wall clock of `zone`, falls inside an open window. */
export function isSendWindowOpen(plan: SendWindowPlan, now: Date, zone: string): boolean {
  if (plan.open === null) return true;
  const local = DateTime.fromMillis(now.getTime(), { zone });
  const day = WEEKDAYS[local.weekday - 1];
  const second = local.hour * 3600 + local.minute * 60 + local.second;
  return plan.open.some((w) => w.day === day && w.from <= second && second < w.until);
}

/**
 * When a message may be created: `now` when a window is open, else the next instant a window
 * opens (DST-correct: an opening inside a spring-forward gap moves past it, one in a repeated
 * hour is its first instance). Null = the windows never open (every day closed).
 */
export function nextSendTime(plan: SendWindowPlan, now: Date, zone: string): Date | null {
  if (isSendWindowOpen(plan, now, zone)) return now;
  let best: number | null = null;
  for (const w of plan.open ?? []) {
    const at = nextOpening(w, now, zone);
    if (best === null || at < best) best = at;
  }
  return best === null ? null : new Date(best);
}

/** The first opening of a weekly window after `now`: its wall minute as a weekly rule, plus its seconds. */
function nextOpening(w: OpenWindow, now: Date, zone: string): number {
  const seconds = w.from % 60;
  const rule: RepeatRule = { frequency: 'weekly', interval: 1, days: [w.day], hours: Math.floor(w.from / 3600), minutes: Math.floor((w.from % 3600) / 60), day_of_month: null };
  // The minute must be after `now - seconds`, so the opening (minute + seconds) is after `now`.
  return nextRuleOccurrence([rule], new Date(now.getTime() - seconds * 1000 + 1), now, zone)!.getTime() + seconds * 1000;
}
