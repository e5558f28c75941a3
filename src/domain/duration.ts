/**
 * Knock durations (`{unit, value}`) and delay-step timing (reference §5.3, §6).
 *
 * Durations are applied in UTC. `months` are calendar months, clamped to the end of the
 * target month (Jan 31 + 1 month = Feb 28/29), so they have no fixed length in ms.
 */
import { getPath, splitPath } from './paths.js';
import { parseTimestamp } from './timestamps.js';
import { isWindowRule, nextWindowRuleTime, runTimeZone } from './window-rule.js';

/** `seconds` is outside the mgmt enum but used by Knock's docs and CLI scaffold, so it is accepted. */
export const DURATION_UNITS = ['seconds', 'minutes', 'hours', 'days', 'weeks', 'months'] as const;
export type DurationUnit = (typeof DURATION_UNITS)[number];

export interface Duration {
  unit: DurationUnit;
  /** An integer; negative values only make sense as a "before" offset in a relative delay. */
  value: number;
}

const UNIT_MS: Record<Exclude<DurationUnit, 'months'>, number> = {
  seconds: 1_000,
  minutes: 60_000,
  hours: 3_600_000,
  days: 86_400_000,
  weeks: 604_800_000,
};

/** Singular, plural and short spellings accepted in shorthand strings like "15 minutes" or "2h". */
const UNIT_ALIASES: Record<string, DurationUnit> = {
  s: 'seconds', sec: 'seconds', secs: 'seconds', second: 'seconds', seconds: 'seconds',
  m: 'minutes', min: 'minutes', mins: 'minutes', minute: 'minutes', minutes: 'minutes',
  h: 'hours', hr: 'hours', hrs: 'hours', hour: 'hours', hours: 'hours',
  d: 'days', day: 'days', days: 'days',
  w: 'weeks', wk: 'weeks', wks: 'weeks', week: 'weeks', weeks: 'weeks',
  mo: 'months', mos: 'months', month: 'months', months: 'months',
};

const SHORTHAND = /^([+-])?\s*(\d+)\s*([a-z]+)$/i;
const ISO_DURATION = /^([+-])?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/i;

/**
 * Reads a duration from workflow settings or run data. Accepts:
 * - `{unit, value}` with an integer `value` (a numeric string is tolerated) and a unit in any
 *   spelling of {@link UNIT_ALIASES};
 * - ISO-8601 durations: `PT15M`, `P1D`, `P2W`, `P3M`, `-PT1H`; several components are summed
 *   into the smallest unit (`PT1H30M` = 90 minutes), but months cannot be mixed with others;
 * - shorthand: `15 minutes`, `1 day`, `2h`, `-3d` (`m` is minutes, `mo` is months).
 * Anything else yields `null`.
 */
export function parseDuration(value: unknown): Duration | null {
  if (typeof value === 'string') return parseDurationString(value.trim());
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const { unit, value: amount } = value as { unit?: unknown; value?: unknown };
  const normalizedUnit = typeof unit === 'string' ? UNIT_ALIASES[unit.toLowerCase()] : undefined;
  if (!normalizedUnit) return null;
  const n = typeof amount === 'string' && /^[+-]?\d+$/.test(amount.trim()) ? Number(amount) : amount;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) return null;
  return { unit: normalizedUnit, value: n };
}

function parseDurationString(text: string): Duration | null {
  const short = SHORTHAND.exec(text);
  if (short) {
    const unit = UNIT_ALIASES[short[3].toLowerCase()];
    if (!unit) return null;
    return { unit, value: (short[1] === '-' ? -1 : 1) * Number(short[2]) };
  }
  const iso = ISO_DURATION.exec(text);
  if (!iso || text.replace(/^[+-]/, '').toUpperCase() === 'P' || /T$/i.test(text)) return null;
  const sign = iso[1] === '-' ? -1 : 1;
  const [years, months, weeks, days, hours, minutes, seconds] = iso.slice(2).map((p) => (p === undefined ? undefined : Number(p)));
  if (years !== undefined || months !== undefined) {
    if ([weeks, days, hours, minutes, seconds].some((p) => p !== undefined)) return null;
    return { unit: 'months', value: sign * ((years ?? 0) * 12 + (months ?? 0)) };
  }
  // Sum the remaining components in the smallest unit present so nothing is rounded away.
  const parts: [DurationUnit, number | undefined][] = [
    ['seconds', seconds], ['minutes', minutes], ['hours', hours], ['days', days], ['weeks', weeks],
  ];
  const smallest = parts.find(([, n]) => n !== undefined);
  if (!smallest) return null;
  const unitMs = UNIT_MS[smallest[0] as keyof typeof UNIT_MS];
  const totalMs = parts.reduce((sum, [unit, n]) => sum + (n ?? 0) * UNIT_MS[unit as keyof typeof UNIT_MS], 0);
  return { unit: smallest[0], value: sign * (totalMs / unitMs) };
}

/** `date` moved by `d` (negative values move backwards). */
export function addDuration(date: Date, d: Duration): Date {
  if (d.unit !== 'months') return new Date(date.getTime() + d.value * UNIT_MS[d.unit]);
  const year = date.getUTCFullYear();
  const targetMonth = date.getUTCMonth() + d.value;
  // Day 0 of the following month is the last day of the target month.
  const lastDay = new Date(Date.UTC(year, targetMonth + 1, 0)).getUTCDate();
  const result = new Date(date.getTime());
  result.setUTCFullYear(year, targetMonth, Math.min(date.getUTCDate(), lastDay));
  return result;
}

/** Length in ms, or `null` for months, whose length depends on the start date (use {@link addDuration}). */
export function durationToMs(d: Duration): number | null {
  return d.unit === 'months' ? null : d.value * UNIT_MS[d.unit];
}

/** "3 days", "1 minute": for human-readable reasons and errors. */
export function formatDuration(d: Duration): string {
  const singular = Math.abs(d.value) === 1;
  return `${d.value} ${singular ? d.unit.slice(0, -1) : d.unit}`;
}

// ---------------------------------------------------------------------------------------
// Delay steps (§5.3)
// ---------------------------------------------------------------------------------------

export interface DelaySettings {
  delay_for?: Duration | null;
  delay_until_field_path?: string | null;
}

/** Where `delay_until_field_path` may point. */
export interface DelayScope {
  data?: unknown;
  recipient?: unknown;
  actor?: unknown;
  tenant?: unknown;
  vars?: unknown;
}

export type DelayResolution = { ok: true; until: Date } | { ok: false; reason: string };

const DELAY_PATH_ROOTS = ['data', 'recipient', 'actor', 'tenant', 'vars'] as const;

/**
 * The latest allowed wake-up time. Knock caps delays at 365 days; "12 months" is also always
 * accepted so a calendar year spanning Feb 29 is not rejected for being 366 days long.
 */
export function maxDelayUntil(now: Date): Date {
  const days = addDuration(now, { unit: 'days', value: 365 });
  const year = addDuration(now, { unit: 'months', value: 12 });
  return days > year ? days : year;
}

/**
 * When a delay step should wake up, per Knock's three modes:
 * 1. fixed — `delay_for` only: now + delay_for;
 * 2. dynamic — `delay_until_field_path` only: the value at that path is an ISO-8601
 *    timestamp (must be in the future) or a Duration (`{unit, value}` or a duration string)
 *    added to now;
 * 3. relative — both: `delay_for` is an offset from the resolved dynamic time (a negative
 *    value means "before"); only the final time has to be in the future.
 * A path without a known root (`data.`, `recipient.`, `actor.`, `tenant.`, `vars.`) is read
 * from `data`, like Knock's batch keys. A window rule (`{frequency, ...}`, window-rule.ts) means
 * its next match after now, on the wall clock of the recipient's (else the tenant's, else UTC)
 * timezone, read from `scope.recipient` / `scope.tenant`.
 * Any `{ok: false}` means "skip the step and log the reason" (§5.2).
 */
export function resolveDelayUntil(settings: DelaySettings, scope: DelayScope, now: Date): DelayResolution {
  const path = settings.delay_until_field_path ?? undefined;
  const hasPath = typeof path === 'string' && path.trim() !== '';
  const offset = settings.delay_for == null ? null : parseDuration(settings.delay_for);
  if (settings.delay_for != null && !offset) {
    return fail(`delay_for ${JSON.stringify(settings.delay_for)} is not a valid duration`);
  }

  let until: Date;
  if (hasPath) {
    const base = resolveDynamicTime(path, scope, now, offset === null);
    if (!base.ok) return base;
    until = offset ? addDuration(base.until, offset) : base.until;
  } else if (offset) {
    if (offset.value < 0) return fail(`delay_for ${formatDuration(offset)} is negative; a fixed delay must wait forward`);
    until = addDuration(now, offset);
  } else {
    return fail('the delay step has neither delay_for nor delay_until_field_path');
  }

  if (hasPath && until.getTime() <= now.getTime()) {
    return fail(
      offset
        ? `the time ${formatDuration(offset)} from "${path}" (${until.toISOString()}) is in the past`
        : `"${path}" (${until.toISOString()}) is in the past`,
    );
  }
  if (until > maxDelayUntil(now)) {
    return fail(`the delay ends at ${until.toISOString()}, beyond the 365-day maximum`);
  }
  return { ok: true, until };
}

/** Resolves the dynamic value; `requireFuture` is false in relative mode where only the final time counts. */
function resolveDynamicTime(path: string, scope: DelayScope, now: Date, requireFuture: boolean): DelayResolution {
  const segments = splitPath(path);
  const rooted = (DELAY_PATH_ROOTS as readonly string[]).includes(segments[0] ?? '') ? path : `data.${path}`;
  const value = getPath(scope, rooted);
  if (value === undefined || value === null || value === '') {
    return fail(`delay_until_field_path "${path}" has no value`);
  }
  if (isWindowRule(value)) {
    const next = nextWindowRuleTime(value, now, runTimeZone(scope));
    return next.ok ? next : fail(`delay_until_field_path "${path}": ${next.reason}`);
  }
  const timestamp = parseTimestamp(value);
  if (timestamp) {
    if (requireFuture && timestamp.getTime() <= now.getTime()) {
      return fail(`delay_until_field_path "${path}" (${timestamp.toISOString()}) is in the past`);
    }
    return { ok: true, until: timestamp };
  }
  const duration = parseDuration(value);
  if (duration) {
    if (duration.value <= 0) return fail(`delay_until_field_path "${path}" holds a non-positive duration (${formatDuration(duration)})`);
    return { ok: true, until: addDuration(now, duration) };
  }
  return fail(`delay_until_field_path "${path}" must hold an ISO-8601 timestamp or a duration {unit, value} (or a window rule {frequency, ...}), got ${JSON.stringify(value)}`);
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
