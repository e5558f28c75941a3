/**
 * Knock schedule repeat rules (knock-api.md §3.8, §5.15): when a schedule's occurrences fall.
 * Pure: no I/O; time zones come from luxon (the platform's IANA database).
 *
 * A rule is evaluated on the wall clock of the recipient's time zone (falling back to the
 * account's zone, then UTC), so "daily at 09:00 in America/New_York" is 13:00Z in summer and
 * 14:00Z in winter. Semantics, modelled on iCalendar RRULEs with Knock's documented defaults:
 *
 * - `daily` / `weekly` / `monthly` fire once on each matching local day at `hours`:`minutes`
 *   (both default to 0, as Knock documents).
 * - `hourly` fires every `interval` hours of real (absolute) time at local minute `minutes`, so
 *   it never skips or doubles an hour around a DST change.
 * - `interval` counts periods (days, Monday-based weeks, calendar months, hours) from the
 *   anchor: `scheduled_at` if set, else when the schedule was created. Every other week = the
 *   anchor's week, then every second week after it.
 * - `days` lists weekdays ("weekdays" / "weekends" are shorthands). For `weekly` it says which
 *   days of the week; for the other frequencies it is a filter. A `weekly` rule without `days`
 *   runs on the anchor's weekday.
 * - `day_of_month` (1–31) picks the day for `monthly` (default: the anchor's day of month) and
 *   filters the other frequencies. **A day past the end of a month means that month's last
 *   day**: `day_of_month: 31` runs on Jan 31, Feb 28 (29), Mar 31, Apr 30... — people asking
 *   for "the 31st" mean "the end of the month", and skipping short months (RRULE's choice)
 *   would silently drop five months a year.
 * - `hours` for `hourly` is a filter (only that local hour), otherwise the time of day.
 * - DST: a wall time that does not exist (02:30 on a spring-forward day) fires at the same
 *   distance after the gap (03:30); a wall time that happens twice (01:30 on a fall-back day)
 *   fires once, at the first of the two.
 * - Several rules: the schedule fires at the union of their occurrences (one fire per instant).
 * - Nothing fires before the start (`scheduled_at`, else creation) or after `ending_at`.
 */
import { DateTime, IANAZone } from 'luxon';
import type { FieldError } from './errors.js';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
export const FREQUENCIES = ['daily', 'weekly', 'monthly', 'hourly'] as const;
export type Frequency = (typeof FREQUENCIES)[number];
/** The largest `interval` accepted: bounds the search for a rule's next match. */
export const MAX_INTERVAL = 365;

/** A validated rule as stored and returned (Knock's ScheduleRepeatRule without `__typename`). */
export interface RepeatRule {
  frequency: Frequency;
  interval: number;
  days: Weekday[] | null;
  hours: number | null;
  minutes: number | null;
  day_of_month: number | null;
}

/** A rule as it arrives in a request. */
export interface RepeatRuleInput {
  frequency: string;
  interval?: number | null;
  days?: string[] | string | null;
  hours?: number | null;
  minutes?: number | null;
  day_of_month?: number | null;
  [extra: string]: unknown;
}

/** What the occurrences of one schedule depend on. */
export interface ScheduleTiming {
  repeats: RepeatRule[];
  scheduledAt: Date | null;
  endingAt: Date | null;
  /** When the schedule was created: the start and anchor of a recurrence without `scheduled_at`. */
  insertedAt: Date;
}

const SHORTHANDS: Record<string, Weekday[]> = {
  weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'],
  weekends: ['sat', 'sun'],
};

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/**
 * Validates and normalises rules: `interval` defaults to 1, day shorthands expand to lists,
 * an empty `days` list means "no filter". Errors name the field as `repeats[i].field`.
 */
export function parseRepeatRules(input: RepeatRuleInput[], field = 'repeats'): { rules: RepeatRule[]; errors: FieldError[] } {
  const rules: RepeatRule[] = [];
  const errors: FieldError[] = [];
  input.forEach((raw, i) => {
    const at = (name: string) => `${field}[${i}].${name}`;
    const bad = (name: string, message: string) => errors.push({ field: at(name), message, type: 'invalid' });
    const before = errors.length;
    if (!(FREQUENCIES as readonly string[]).includes(raw.frequency)) bad('frequency', `must be one of ${FREQUENCIES.join(', ')}`);
    const interval = raw.interval ?? 1;
    if (!isInt(interval) || interval < 1 || interval > MAX_INTERVAL) bad('interval', `must be an integer from 1 to ${MAX_INTERVAL}`);
    let days: Weekday[] | null = null;
    if (typeof raw.days === 'string') {
      if (SHORTHANDS[raw.days]) days = SHORTHANDS[raw.days];
      else bad('days', 'must be a list of mon..sun, "weekdays" or "weekends"');
    } else if (Array.isArray(raw.days)) {
      if (raw.days.some((d) => !(WEEKDAYS as readonly string[]).includes(d))) bad('days', 'must be a list of mon..sun, "weekdays" or "weekends"');
      else if (raw.days.length > 0) days = WEEKDAYS.filter((d) => (raw.days as string[]).includes(d));
    } else if (raw.days !== undefined && raw.days !== null) {
      bad('days', 'must be a list of mon..sun, "weekdays" or "weekends"');
    }
    const hours = raw.hours ?? null;
    if (hours !== null && (!isInt(hours) || hours < 0 || hours > 23)) bad('hours', 'must be an integer from 0 to 23');
    const minutes = raw.minutes ?? null;
    // knock-api.md §3.8: minutes are 0, 5, ..., 55.
    if (minutes !== null && (!isInt(minutes) || minutes < 0 || minutes > 55 || minutes % 5 !== 0)) bad('minutes', 'must be one of 0, 5, 10, ..., 55');
    const dom = raw.day_of_month ?? null;
    if (dom !== null && (!isInt(dom) || dom < 1 || dom > 31)) bad('day_of_month', 'must be an integer from 1 to 31');
    if (errors.length === before) {
      rules.push({ frequency: raw.frequency as Frequency, interval, days, hours, minutes, day_of_month: dom });
    }
  });
  return { rules, errors };
}

export function isValidTimeZone(zone: unknown): zone is string {
  return typeof zone === 'string' && zone !== '' && IANAZone.isValidZone(zone);
}

/** The zone rules run in: the recipient's valid `timezone`, else the account's, else UTC. */
export function scheduleZone(recipientTimezone: unknown, accountTimezone?: string | null): string {
  if (isValidTimeZone(recipientTimezone)) return recipientTimezone;
  if (isValidTimeZone(accountTimezone)) return accountTimezone;
  return 'UTC';
}

// ---- civil-date arithmetic (pure integers, so scanning many days stays cheap) ----

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/**
 * How far a scan looks for a rule's next match before concluding there is none: 40 years of
 * days (a monthly rule every 365 months, or a weekday/day-of-month pair, still finds one), and
 * two years of hours for hourly rules (filters repeat yearly at the latest).
 */
const SCAN_DAYS = 366 * 40;
const SCAN_HOURS = 24 * 366 * 2;

/** Days since 1970-01-01 of a proleptic Gregorian date. */
function epochDay(y: number, m: number, d: number): number {
  return Math.round(Date.UTC(y, m - 1, d) / DAY_MS);
}

interface Civil { y: number; m: number; d: number; weekday: Weekday; epochDay: number }

function civil(day: number): Civil {
  const date = new Date(day * DAY_MS);
  // 1970-01-01 was a Thursday (index 3 in a Monday-first week).
  const weekday = WEEKDAYS[(((day + 3) % 7) + 7) % 7];
  return { y: date.getUTCFullYear(), m: date.getUTCMonth() + 1, d: date.getUTCDate(), weekday, epochDay: day };
}

const daysInMonth = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
/** Monday-based week number. */
const weekIndex = (day: number) => Math.floor((day + 3) / 7);
const monthIndex = (c: Civil) => c.y * 12 + (c.m - 1);
const mod = (a: number, n: number) => ((a % n) + n) % n;

function localCivil(at: Date, zone: string): Civil {
  const dt = DateTime.fromMillis(at.getTime(), { zone });
  return civil(epochDay(dt.year, dt.month, dt.day));
}

/**
 * The instant a wall time has in `zone`. Skipped wall times move forward past the gap (luxon's
 * rule); a wall time that happens twice resolves to its first instant.
 */
function wallTime(c: Civil, hour: number, minute: number, zone: string): number {
  const t = DateTime.fromObject({ year: c.y, month: c.m, day: c.d, hour, minute }, { zone }).toMillis();
  for (const back of [HOUR_MS, 30 * MINUTE_MS]) {
    const earlier = DateTime.fromMillis(t - back, { zone });
    if (earlier.year === c.y && earlier.month === c.m && earlier.day === c.d && earlier.hour === hour && earlier.minute === minute) return t - back;
  }
  return t;
}

function dayMatches(rule: RepeatRule, c: Civil, anchor: Civil): boolean {
  if (rule.day_of_month !== null && c.d !== Math.min(rule.day_of_month, daysInMonth(c.y, c.m))) return false;
  switch (rule.frequency) {
    case 'daily':
      return mod(c.epochDay - anchor.epochDay, rule.interval) === 0 && (rule.days === null || rule.days.includes(c.weekday));
    case 'weekly':
      return mod(weekIndex(c.epochDay) - weekIndex(anchor.epochDay), rule.interval) === 0 && (rule.days ?? [anchor.weekday]).includes(c.weekday);
    case 'monthly':
      if (mod(monthIndex(c) - monthIndex(anchor), rule.interval) !== 0) return false;
      if (rule.days !== null) return rule.days.includes(c.weekday);
      return rule.day_of_month !== null || c.d === Math.min(anchor.d, daysInMonth(c.y, c.m));
    default:
      return false;
  }
}

/** A day-based rule's first (dir 1) or last (dir -1) occurrence at or after / at or before `from`. */
function scanDays(rule: RepeatRule, from: number, dir: 1 | -1, anchor: Date, zone: string): number | null {
  const anchorDay = localCivil(anchor, zone);
  const start = localCivil(new Date(from), zone).epochDay;
  for (let i = 0; i <= SCAN_DAYS; i++) {
    const c = civil(start + dir * i);
    if (!dayMatches(rule, c, anchorDay)) continue;
    const t = wallTime(c, rule.hours ?? 0, rule.minutes ?? 0, zone);
    if (dir === 1 ? t >= from : t <= from) return t;
  }
  return null;
}

/** The instant within the same absolute hour as `t` whose local minute is `minute`, at or before `t`. */
function alignToMinute(t: number, minute: number, zone: string): number {
  const floorMin = Math.floor(t / MINUTE_MS);
  const offset = DateTime.fromMillis(floorMin * MINUTE_MS, { zone }).offset;
  return (floorMin - mod(floorMin + offset - minute, 60)) * MINUTE_MS;
}

function scanHours(rule: RepeatRule, from: number, dir: 1 | -1, anchor: Date, zone: string): number | null {
  const minute = rule.minutes ?? 0;
  const first = (t: number) => { const c = alignToMinute(t, minute, zone); return c < t ? c + HOUR_MS : c; };
  const anchorHour = Math.floor(first(anchor.getTime()) / HOUR_MS);
  let c = alignToMinute(from, minute, zone);
  if (dir === 1 && c < from) c += HOUR_MS;
  for (let i = 0; i <= SCAN_HOURS; i++, c += dir * HOUR_MS) {
    // A zone whose offset moves by a non-whole hour shifts the local minute: re-align.
    const t = alignToMinute(c + 59 * MINUTE_MS, minute, zone);
    if (mod(Math.floor(t / HOUR_MS) - anchorHour, rule.interval) !== 0) continue;
    if (rule.hours === null && rule.days === null && rule.day_of_month === null) {
      if (dir === 1 ? t >= from : t <= from) return t;
      continue;
    }
    const local = DateTime.fromMillis(t, { zone });
    if (rule.hours !== null && local.hour !== rule.hours) continue;
    const lc = civil(epochDay(local.year, local.month, local.day));
    if (rule.days !== null && !rule.days.includes(lc.weekday)) continue;
    if (rule.day_of_month !== null && lc.d !== Math.min(rule.day_of_month, daysInMonth(lc.y, lc.m))) continue;
    if (dir === 1 ? t >= from : t <= from) return t;
  }
  return null;
}

function scan(rule: RepeatRule, from: number, dir: 1 | -1, anchor: Date, zone: string): number | null {
  return rule.frequency === 'hourly' ? scanHours(rule, from, dir, anchor, zone) : scanDays(rule, from, dir, anchor, zone);
}

const startOf = (t: ScheduleTiming) => t.scheduledAt ?? t.insertedAt;

/** The first occurrence of the rules at or after `from` (ignoring the start and `ending_at`). */
export function nextRuleOccurrence(rules: RepeatRule[], from: Date, anchor: Date, zone: string): Date | null {
  let best: number | null = null;
  for (const rule of rules) {
    const t = scan(rule, from.getTime(), 1, anchor, zone);
    if (t !== null && (best === null || t < best)) best = t;
  }
  return best === null ? null : new Date(best);
}

/** The last occurrence of the rules at or before `until` (ignoring the start and `ending_at`). */
export function previousRuleOccurrence(rules: RepeatRule[], until: Date, anchor: Date, zone: string): Date | null {
  let best: number | null = null;
  for (const rule of rules) {
    const t = scan(rule, until.getTime(), -1, anchor, zone);
    if (t !== null && (best === null || t > best)) best = t;
  }
  return best === null ? null : new Date(best);
}

/** Indexes of rules that never produce an occurrence (e.g. daily every 7 days on a weekday the anchor never lands on). */
export function rulesThatNeverOccur(rules: RepeatRule[], anchor: Date, zone: string): number[] {
  return rules.flatMap((rule, i) => (scan(rule, anchor.getTime(), 1, anchor, zone) === null ? [i] : []));
}

const within = (t: Date | null, timing: ScheduleTiming) => (t !== null && (timing.endingAt === null || t <= timing.endingAt) ? t : null);

/**
 * The occurrence to wait for after a create or an update at `now`: a one-off waits for
 * `scheduled_at` (unless it already fired); a recurrence for its first occurrence at or after
 * both its start and `now`, and after the last one fired. Null = nothing left to fire.
 */
export function upcomingOccurrence(timing: ScheduleTiming, now: Date, zone: string, lastOccurrence: Date | null = null): Date | null {
  if (timing.repeats.length === 0) {
    const at = timing.scheduledAt;
    if (at === null || (lastOccurrence !== null && at <= lastOccurrence)) return null;
    return within(at, timing);
  }
  let from = Math.max(startOf(timing).getTime(), now.getTime());
  if (lastOccurrence !== null) from = Math.max(from, lastOccurrence.getTime() + 1);
  return within(nextRuleOccurrence(timing.repeats, new Date(from), startOf(timing), zone), timing);
}

/**
 * What to do with a schedule whose occurrence `due` has come, at `now`. Occurrences missed while
 * nothing ran (the clock jumped past several) are collapsed: only the latest one that has come
 * fires — a digest is wanted once, not five times in a row — and the schedule continues with the
 * first occurrence after `now`. `fire` null = nothing to fire (past `ending_at`); `next` null =
 * the schedule is finished.
 */
export function planFiring(timing: ScheduleTiming, due: Date, now: Date, zone: string): { fire: Date | null; next: Date | null } {
  if (timing.repeats.length === 0) return { fire: within(due, timing), next: null };
  const limit = timing.endingAt !== null && timing.endingAt < now ? timing.endingAt : now;
  let fire = previousRuleOccurrence(timing.repeats, limit, startOf(timing), zone);
  if (fire === null || fire < due) fire = due <= limit ? due : null;
  if (fire !== null && fire < startOf(timing)) fire = null;
  const after = Math.max(now.getTime(), fire?.getTime() ?? 0, due.getTime()) + 1;
  const next = within(nextRuleOccurrence(timing.repeats, new Date(after), startOf(timing), zone), timing);
  return { fire, next };
}
