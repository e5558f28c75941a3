/**
 * Message-status step conditions (reference §5.13): `refs.<step_ref>.delivery_status` and
 * `refs.<step_ref>.engagement_status` compared with `$message.*` arguments. These do not
 * follow the generic text/number rules: delivery statuses are ordered along Knock's
 * hierarchy, and engagement arguments such as `$message.seen_not_read` are predicates.
 */

/** Lowest to highest precedence; a step that produced no message counts as `skipped`, below all. */
const DELIVERY_ORDER = ['skipped', 'undelivered', 'bounced', 'delivery_attempted', 'queued', 'not_sent', 'sent', 'delivered'];

const MESSAGE_STATUS_VARIABLE = /^refs\.(?:[^.]+)\.(delivery|engagement)_status$/;

/** `delivery` / `engagement` when the variable names a message status, else null. */
export function messageStatusKind(variable: string): 'delivery' | 'engagement' | null {
  const m = MESSAGE_STATUS_VARIABLE.exec(variable);
  return m ? (m[1] as 'delivery' | 'engagement') : null;
}

/** `$message.sent` and `sent` are the same status. */
function normalize(status: unknown): string {
  return typeof status === 'string' ? status.replace(/^\$message\./, '') : '';
}

/**
 * Evaluates a delivery-status condition, or returns `undefined` when the operator has no
 * status-specific meaning (the caller then applies the generic rules, e.g. for `exists`).
 */
export function evaluateDeliveryStatus(operator: string, value: unknown, argument: unknown): boolean | undefined {
  const actual = normalize(value) || 'skipped';
  const expected = normalize(argument);
  const a = DELIVERY_ORDER.indexOf(actual);
  const e = DELIVERY_ORDER.indexOf(expected);
  switch (operator) {
    case 'equal_to':
      return actual === expected;
    case 'not_equal_to':
      return actual !== expected;
    case 'greater_than':
      return a >= 0 && e >= 0 && a > e;
    case 'greater_than_or_equal_to':
      return a >= 0 && e >= 0 && a >= e;
    case 'less_than':
      return a >= 0 && e >= 0 && a < e;
    case 'less_than_or_equal_to':
      return a >= 0 && e >= 0 && a <= e;
    default:
      return undefined;
  }
}

/**
 * Evaluates an engagement-status condition with `contains` / `not_contains` (and, for
 * convenience, `equal_to` / `not_equal_to` with the same meaning). The value is the set of
 * engagement statuses the step's message currently has (like `Message.engagement_statuses`);
 * a single string is treated as a one-element set.
 */
export function evaluateEngagementStatus(operator: string, value: unknown, argument: unknown): boolean | undefined {
  const positive = operator === 'contains' || operator === 'equal_to';
  const negative = operator === 'not_contains' || operator === 'not_equal_to';
  if (!positive && !negative) return undefined;
  const statuses = new Set((Array.isArray(value) ? value : [value]).map(normalize).filter(Boolean));
  const matches = engagementMatches(statuses, normalize(argument));
  return positive ? matches : !matches;
}

function engagementMatches(statuses: Set<string>, expected: string): boolean {
  switch (expected) {
    case 'seen_not_read':
      return statuses.has('seen') && !statuses.has('read');
    case 'read_not_link_clicked':
      return statuses.has('read') && !statuses.has('link_clicked');
    default:
      return statuses.has(expected);
  }
}
