/**
 * Evaluates Knock conditions (reference §3.5, §5.14) against a run's scope. Pure: the clock
 * and audience membership are passed in.
 *
 * Resolution rules:
 * - The variable is a dotted path whose first segment is a scope root: `data`, `recipient`,
 *   `actor`, `tenant`, `vars`, `workflow`, `run` or `refs` (`recipient.subscription.*` is
 *   just a recipient path: the engine puts the subscription on the recipient). A missing
 *   path is `""`, except that `exists` / `not_exists` see whether it is really set. A
 *   variable without a scope root is read as a literal, like a static argument.
 * - The argument is, in order: a dynamic path when it starts with a scope root
 *   (`data.limit`) or is a bare Liquid output (`{{ data.limit }}`); else a JSON literal
 *   (`"5"`, `"\"x\""`, `"true"`, `"[1,2]"`); else the raw text.
 *
 * Comparison rules:
 * - Equality and ordering are numeric when both sides are numbers or numeric strings,
 *   otherwise textual (`true` equals `"true"`; lists/objects compare structurally).
 * - `contains`: substring for text/text, membership for list/item or item/list, any overlap
 *   for list/list. `contains_all`: the variable must be a list holding every argument item.
 * - `empty`: unset, null, `""` or `[]`. `exists`: set and not null.
 * - Timestamps are strict ISO-8601 (a missing zone means UTC). A timestamp argument is an
 *   absolute timestamp, or a relative offset from `now`: a duration string such as
 *   `"15 minutes"`, `"2h"`, `"P1D"` (future) or `"-15 minutes"`, `"15 minutes ago"` (past).
 *   `_date` operators compare UTC calendar dates.
 * - `is_timestamp_between` / `is_between` take two bounds, as a JSON array (`["a","b"]`, items
 *   may be dynamic paths) or `"a,b"`; both bounds are inclusive.
 * - `is_audience_member`: the argument is the audience key; the member id is the variable's
 *   value (normally `recipient.id`). Without `scope.isAudienceMember` nobody is a member.
 * - `is_in_random_cohort`: the argument is a 0–100 percentage; membership is a stable hash of
 *   the workflow key and the variable's value (normally `recipient.id`).
 * - Unknown operators evaluate to false.
 */
import { addDuration, parseDuration } from './duration.js';
import { getPath, splitPath } from './paths.js';
import { parseTimestamp, utcDateKey } from './timestamps.js';
import { evaluateDeliveryStatus, evaluateEngagementStatus, messageStatusKind } from './message-status-conditions.js';
import type { Condition, ConditionGroup, ConditionNode } from './condition-types.js';

export interface ConditionScope {
  data?: unknown;
  recipient?: unknown;
  actor?: unknown;
  tenant?: unknown;
  vars?: unknown;
  workflow?: { id?: string; key?: string; name?: string; categories?: string[] };
  run?: { total_activities?: number; total_actors?: number };
  /** Message status of earlier channel steps, keyed by step ref. */
  refs?: Record<string, { delivery_status?: string; engagement_status?: string | string[] }>;
  /** Audience lookup; audiences are not modelled yet, so it is optional. */
  isAudienceMember?: (audienceKey: string, recipientId: string) => boolean;
}

const SCOPE_ROOTS = new Set(['data', 'recipient', 'actor', 'tenant', 'vars', 'workflow', 'run', 'refs']);
const LIQUID_OUTPUT = /^\{\{\s*([\w$.[\]-]+)\s*\}\}$/;

/** True when no group is given, the group is empty (`{}`), or it holds and its conditions pass. */
export function evaluateConditionGroup(group: ConditionGroup | null | undefined, scope: ConditionScope, now: Date): boolean {
  if (!group) return true;
  return evaluateNode(group, scope, now);
}

/** Preference conditions are a plain list with AND semantics. */
export function evaluateConditions(conditions: readonly Condition[] | null | undefined, scope: ConditionScope, now: Date): boolean {
  return (conditions ?? []).every((c) => evaluateCondition(c, scope, now));
}

function evaluateNode(node: ConditionNode, scope: ConditionScope, now: Date): boolean {
  if ('all' in node && Array.isArray(node.all)) return node.all.every((n) => evaluateNode(n, scope, now));
  // An empty `any` means "no conditions" rather than "nothing can ever match".
  if ('any' in node && Array.isArray(node.any)) return node.any.length === 0 || node.any.some((n) => evaluateNode(n, scope, now));
  if ('operator' in node) return evaluateCondition(node, scope, now);
  return true; // `{}`: Knock's API uses an empty object for "no conditions".
}

export function evaluateCondition(c: Condition, scope: ConditionScope, now: Date): boolean {
  const raw = resolveVariable(c.variable, scope);
  const value = raw === undefined ? '' : raw;
  const argument = resolveArgument(c.argument, scope);

  const statusKind = messageStatusKind(c.variable);
  if (statusKind) {
    const result = statusKind === 'delivery'
      ? evaluateDeliveryStatus(c.operator, raw, argument)
      : evaluateEngagementStatus(c.operator, raw, argument);
    if (result !== undefined) return result;
  }

  switch (c.operator) {
    case 'equal_to': return looseEqual(value, argument);
    case 'not_equal_to': return !looseEqual(value, argument);
    case 'greater_than': return compare(value, argument, (o) => o > 0);
    case 'greater_than_or_equal_to': return compare(value, argument, (o) => o >= 0);
    case 'less_than': return compare(value, argument, (o) => o < 0);
    case 'less_than_or_equal_to': return compare(value, argument, (o) => o <= 0);
    case 'contains': return contains(value, argument);
    case 'not_contains': return !contains(value, argument);
    case 'contains_all': return containsAll(value, argument);
    case 'not_contains_all': return !containsAll(value, argument);
    case 'empty': return isEmpty(raw);
    case 'not_empty': return !isEmpty(raw);
    case 'exists': return raw !== undefined && raw !== null;
    case 'not_exists': return raw === undefined || raw === null;
    case 'is_timestamp': return parseTimestamp(value) !== null;
    case 'is_not_timestamp': return parseTimestamp(value) === null;
    case 'is_timestamp_before': return compareTimes(value, timeArgument(argument, now), (t, a) => t < a);
    case 'is_timestamp_on_or_after': return compareTimes(value, timeArgument(argument, now), (t, a) => t >= a);
    case 'is_timestamp_before_now': return compareTimes(value, now, (t, a) => t < a);
    case 'is_timestamp_on_or_after_now': return compareTimes(value, now, (t, a) => t >= a);
    case 'is_timestamp_before_date': return compareDates(value, timeArgument(argument, now), (t, a) => t < a);
    case 'is_timestamp_on_or_after_date': return compareDates(value, timeArgument(argument, now), (t, a) => t >= a);
    case 'is_timestamp_between': return timestampBetween(value, bounds(c.argument, argument, scope), now);
    case 'is_between': return numberBetween(value, bounds(c.argument, argument, scope));
    case 'is_audience_member': return audienceMember(value, argument, scope);
    case 'is_not_audience_member': return !audienceMember(value, argument, scope);
    case 'is_in_random_cohort': return inRandomCohort(value, argument, scope);
    default: return false;
  }
}

// --- resolution ------------------------------------------------------------------------

function isScopePath(text: string): boolean {
  const [root] = splitPath(text);
  return text.includes('.') && root !== undefined && SCOPE_ROOTS.has(root) && !/\s/.test(text);
}

function resolveVariable(variable: string, scope: ConditionScope): unknown {
  if (isScopePath(variable)) return getPath(scope, variable);
  return parseLiteral(variable);
}

/** See the module comment; a missing dynamic value is `""`, like a missing variable. */
function resolveArgument(argument: Condition['argument'], scope: ConditionScope): unknown {
  if (argument === undefined || argument === null) return null;
  if (typeof argument !== 'string') return argument;
  const text = argument.trim();
  const liquid = LIQUID_OUTPUT.exec(text);
  const path = liquid ? liquid[1] : isScopePath(text) ? text : null;
  if (path !== null) return getPath(scope, path) ?? '';
  return parseLiteral(argument);
}

function parseLiteral(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// --- comparisons -----------------------------------------------------------------------

const NUMERIC = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

function isNumeric(v: unknown): boolean {
  return (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && NUMERIC.test(v));
}

const isComposite = (v: unknown): v is object => v !== null && typeof v === 'object';

function toText(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  return isComposite(v) ? stableJson(v) : String(v);
}

/** JSON with sorted object keys, so `{a,b}` equals `{b,a}`. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (isComposite(v)) {
    const entries = Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function looseEqual(a: unknown, b: unknown): boolean {
  if (isNumeric(a) && isNumeric(b)) return Number(a) === Number(b);
  if (isComposite(a) || isComposite(b)) return isComposite(a) && isComposite(b) && stableJson(a) === stableJson(b);
  return toText(a) === toText(b);
}

function compare(a: unknown, b: unknown, test: (order: number) => boolean): boolean {
  if (isNumeric(a) && isNumeric(b)) return test(Math.sign(Number(a) - Number(b)));
  if (isComposite(a) || isComposite(b) || b === null) return false;
  const x = toText(a);
  const y = toText(b);
  return test(x < y ? -1 : x > y ? 1 : 0);
}

function contains(value: unknown, argument: unknown): boolean {
  if (Array.isArray(value)) {
    const wanted = Array.isArray(argument) ? argument : [argument];
    return wanted.some((w) => value.some((v) => looseEqual(v, w)));
  }
  if (Array.isArray(argument)) return argument.some((a) => looseEqual(value, a));
  if (isComposite(value) || isComposite(argument) || argument === null) return false;
  return toText(value).includes(toText(argument));
}

function containsAll(value: unknown, argument: unknown): boolean {
  if (!Array.isArray(value)) return false;
  const wanted = Array.isArray(argument) ? argument : [argument];
  return wanted.every((w) => value.some((v) => looseEqual(v, w)));
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

// --- timestamps and ranges ---------------------------------------------------------------

/** An absolute timestamp, or a duration relative to now (`"-1 day"`, `"1 day ago"`, `"PT15M"`). */
function timeArgument(argument: unknown, now: Date): Date | null {
  const absolute = parseTimestamp(argument);
  if (absolute) return absolute;
  let text = argument;
  let sign = 1;
  if (typeof text === 'string' && /\s+ago$/i.test(text.trim())) {
    text = text.trim().replace(/\s+ago$/i, '');
    sign = -1;
  }
  const d = parseDuration(text);
  return d ? addDuration(now, { unit: d.unit, value: sign * d.value }) : null;
}

function compareTimes(value: unknown, at: Date | null, test: (t: number, a: number) => boolean): boolean {
  const t = parseTimestamp(value);
  return t !== null && at !== null && test(t.getTime(), at.getTime());
}

function compareDates(value: unknown, at: Date | null, test: (t: string, a: string) => boolean): boolean {
  const t = parseTimestamp(value);
  return t !== null && at !== null && test(utcDateKey(t), utcDateKey(at));
}

/** The two bounds of a `between` argument: a JSON array or `"a,b"`; each bound may be dynamic. */
function bounds(rawArgument: Condition['argument'], argument: unknown, scope: ConditionScope): [unknown, unknown] | null {
  let parts: unknown[] | null = null;
  if (Array.isArray(argument)) parts = argument;
  else if (typeof rawArgument === 'string' && rawArgument.includes(',')) parts = rawArgument.split(',');
  if (!parts || parts.length !== 2) return null;
  const [lo, hi] = parts.map((p) => (typeof p === 'string' ? resolveArgument(p, scope) : p));
  return [lo, hi];
}

function timestampBetween(value: unknown, range: [unknown, unknown] | null, now: Date): boolean {
  if (!range) return false;
  const t = parseTimestamp(value);
  const lo = timeArgument(range[0], now);
  const hi = timeArgument(range[1], now);
  return t !== null && lo !== null && hi !== null && lo <= t && t <= hi;
}

function numberBetween(value: unknown, range: [unknown, unknown] | null): boolean {
  if (!range || !isNumeric(value) || !isNumeric(range[0]) || !isNumeric(range[1])) return false;
  const n = Number(value);
  return Number(range[0]) <= n && n <= Number(range[1]);
}

// --- audiences and cohorts ----------------------------------------------------------------

function memberId(value: unknown, scope: ConditionScope): string | null {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number') return String(value);
  const id = getPath(scope.recipient, 'id');
  return typeof id === 'string' ? id : null;
}

function audienceMember(value: unknown, argument: unknown, scope: ConditionScope): boolean {
  const id = memberId(value, scope);
  if (!scope.isAudienceMember || id === null || typeof argument !== 'string' || argument === '') return false;
  return scope.isAudienceMember(argument, id);
}

function inRandomCohort(value: unknown, argument: unknown, scope: ConditionScope): boolean {
  const id = memberId(value, scope);
  if (id === null || !isNumeric(argument)) return false;
  const bucket = (fnv1a(`${scope.workflow?.key ?? ''}:${id}`) % 1000) / 10; // 0.0–99.9
  return bucket < Number(argument);
}

/** 32-bit FNV-1a: small, stable across processes, good enough to spread ids over buckets. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
