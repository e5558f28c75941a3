/**
 * Strict ISO-8601 timestamp parsing for conditions and dynamic delays.
 *
 * `Date.parse` accepts far too much ("1", "March 7", locale formats) and reads zone-less
 * date-times in the server's local zone, so user data is matched against an explicit
 * grammar instead: `YYYY-MM-DD`, optionally followed by `THH:MM[:SS[.fraction]]` and a
 * zone (`Z` or `±HH[:MM]`). A missing zone means UTC, so results never depend on the host.
 */

const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/;

/** The instant named by an ISO-8601 string (or a valid `Date`), else `null`. */
export function parseTimestamp(value: unknown): Date | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  if (typeof value !== 'string') return null;
  const m = ISO_TIMESTAMP.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const year = Number(y);
  const month = Number(mo) - 1;
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const ms = frac ? Math.floor(Number(`0.${frac}`) * 1000) : 0;
  if (hour > 23 || minute > 59 || second > 59) return null;
  const utc = Date.UTC(year, month, day, hour, minute, second, ms);
  // Date.UTC silently rolls Feb 30 over into March; reject dates that do not exist.
  const check = new Date(utc);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month || check.getUTCDate() !== day) return null;
  return new Date(utc - zoneOffsetMs(zone));
}

function zoneOffsetMs(zone: string | undefined): number {
  if (!zone || zone === 'Z' || zone === 'z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  return sign * (hours * 60 + minutes) * 60_000;
}

/** `YYYY-MM-DD` of an instant in UTC; date-only comparisons use this. */
export function utcDateKey(date: Date): string {
  return date.toISOString().slice(0, 10);
}
