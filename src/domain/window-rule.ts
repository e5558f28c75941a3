/**
 * Window rules (knock-api.md §5.3, §5.4, §5.6): the value a delay's `delay_until_field_path`,
 * a batch's `batch_until_field_path` or a throttle's `throttle_window_field_path` may hold
 * instead of a timestamp or a duration, e.g. `{frequency: "daily", hours: 9}` = "until the next
 * 09:00". Pure; the rule grammar and its wall-clock arithmetic (DST included) are the schedule
 * repeat rules' (schedule-repeat.ts), so a window rule and a schedule rule written alike always
 * agree on when "next 09:00 on weekdays" is.
 *
 * Semantics: the first instant strictly after `now` that matches the rule on the wall clock of
 * the zone (the recipient's `timezone`, else the tenant's `timezone` or `settings.timezone`, else
 * UTC). `hours` / `minutes` default to 0. A `weekly` rule without `days` means the current
 * weekday (so: one week from today's occurrence), a `monthly` rule without `day_of_month` the
 * current day of the month; `interval` is accepted but rarely useful here (it counts from now).
 */
import { isValidTimeZone, nextRuleOccurrence, parseRepeatRules, scheduleZone, type RepeatRuleInput } from './schedule-repeat.js';

export type WindowRuleResolution = { ok: true; until: Date } | { ok: false; reason: string };

/** Whether a dynamic window value is meant as a window rule (an object with a `frequency`). */
export function isWindowRule(value: unknown): value is RepeatRuleInput {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'frequency' in value;
}

/** Where a run's zone comes from: its recipient and tenant as templates see them. */
export interface ZoneScope {
  recipient?: unknown;
  tenant?: unknown;
}

const field = (o: unknown, key: string): unknown => (typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[key] : undefined);

/**
 * The zone a run's wall-clock rules (window rules, send windows) use: the recipient's valid
 * IANA `timezone`, else the tenant's (`timezone` or `settings.timezone`; Herald has no account
 * settings, so the tenant stands in for Knock's account timezone), else UTC.
 */
export function runTimeZone(scope: ZoneScope): string {
  const tenantZone = field(scope.tenant, 'timezone');
  const account = isValidTimeZone(tenantZone) ? tenantZone : field(field(scope.tenant, 'settings'), 'timezone');
  return scheduleZone(field(scope.recipient, 'timezone'), isValidTimeZone(account) ? account : null);
}

/** The next instant after `now` that `raw` (a window rule) matches in `zone`. */
export function nextWindowRuleTime(raw: RepeatRuleInput, now: Date, zone: string): WindowRuleResolution {
  const { rules, errors } = parseRepeatRules([raw], 'rule');
  if (errors.length > 0) return { ok: false, reason: `invalid window rule: ${errors.map((e) => `${e.field.replace('rule[0].', '')} ${e.message}`).join('; ')}` };
  const next = nextRuleOccurrence(rules, new Date(now.getTime() + 1), now, zone);
  if (!next) return { ok: false, reason: 'the window rule never matches' };
  return { ok: true, until: next };
}
