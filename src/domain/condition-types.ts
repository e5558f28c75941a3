/**
 * The shape of Knock conditions (reference §3.5, §5.14, §6). Kept apart from the evaluator
 * so workflow validation can list the operators without depending on evaluation code.
 */

/** Every operator Knock's SDKs and docs name, plus the argument-less `_now` variants. */
export const CONDITION_OPERATORS = [
  'equal_to',
  'not_equal_to',
  'greater_than',
  'less_than',
  'greater_than_or_equal_to',
  'less_than_or_equal_to',
  'contains',
  'not_contains',
  'contains_all',
  'not_contains_all',
  'empty',
  'not_empty',
  'exists',
  'not_exists',
  'is_timestamp',
  'is_not_timestamp',
  'is_timestamp_on_or_after',
  'is_timestamp_before',
  'is_timestamp_on_or_after_date',
  'is_timestamp_before_date',
  'is_timestamp_between',
  'is_between',
  'is_timestamp_before_now',
  'is_timestamp_on_or_after_now',
  'is_audience_member',
  'is_not_audience_member',
  'is_in_random_cohort',
] as const;

export type ConditionOperator = (typeof CONDITION_OPERATORS)[number];

/** Operators that only look at the variable, so their argument may be null or absent. */
export const ARGUMENTLESS_OPERATORS: ReadonlySet<string> = new Set<ConditionOperator>([
  'empty',
  'not_empty',
  'exists',
  'not_exists',
  'is_timestamp',
  'is_not_timestamp',
  'is_timestamp_before_now',
  'is_timestamp_on_or_after_now',
]);

export interface Condition {
  /** A dotted path such as `data.plan` or `recipient.email` (see `ConditionScope`). */
  variable: string;
  operator: ConditionOperator;
  /**
   * A JSON literal written as a string (`"5"`, `"\"pro\""`, `"[1,2]"`), plain text, or a
   * dynamic path with a scope prefix (`data.limit`). Null for argument-less operators.
   * Numbers and booleans are tolerated for hand-written workflow files.
   */
  argument?: string | number | boolean | null;
}

/** `all` = AND, `any` = OR; groups nest (`{any: [{all: [...]}, ...]}`). */
export type ConditionGroup = { all: ConditionNode[] } | { any: ConditionNode[] };
export type ConditionNode = Condition | ConditionGroup;
