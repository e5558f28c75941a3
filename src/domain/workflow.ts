/**
 * A workflow definition in Knock's management-API format (reference §6) and its validation.
 *
 * `validateWorkflowDefinition` is the single gate for definitions from the workflow
 * directory and the management API: the engine may then trust the shapes declared here.
 * The definition is returned as given (unknown extra fields such as `sha` are kept).
 */
import type { Duration } from './duration.js';
import { durationToMs, formatDuration } from './duration.js';
import type { ConditionGroup } from './condition-types.js';
import { ARGUMENTLESS_OPERATORS, CONDITION_OPERATORS } from './condition-types.js';
import { checkTriggerDataSchema } from './trigger-data-schema.js';
import {
  BranchSchema,
  ChannelStepSchema,
  CHANNEL_TYPES,
  ConditionSchema,
  DelaySettingsSchema,
  DurationSchema,
  InAppFeedTemplateSchema,
  StepBaseSchema,
  TRIGGER_FREQUENCIES,
  WorkflowSchema,
  checkSchema,
  joinField,
  type FieldError,
} from './workflow-schema.js';

export type { Duration, DurationUnit } from './duration.js';
export type { Condition, ConditionGroup, ConditionNode, ConditionOperator } from './condition-types.js';
export type { FieldError } from './workflow-schema.js';
export { STEP_TYPES, CHANNEL_TYPES, TRIGGER_FREQUENCIES } from './workflow-schema.js';

export type ChannelType = (typeof CHANNEL_TYPES)[number];
export type TriggerFrequency = (typeof TRIGGER_FREQUENCIES)[number];

interface StepCommon {
  /** Unique within the workflow, including steps nested in branches. */
  ref: string;
  name?: string | null;
  description?: string | null;
  /** Null or `{}` mean "no conditions". */
  conditions?: ConditionGroup | null;
}

export interface DelayStep extends StepCommon {
  type: 'delay';
  settings: { delay_for?: Duration | null; delay_until_field_path?: string | null };
}

export interface SendWindow {
  day: string;
  type: 'send' | 'do_not_send';
  from?: string | null;
  until?: string | null;
}

export interface ChannelStep extends StepCommon {
  type: 'channel';
  channel_key?: string | null;
  channel_group_key?: string | null;
  channel_type?: ChannelType | null;
  /** Per channel type (§6); for `in_app_feed`: `{markdown_body, action_url?, action_buttons?}`. */
  template: Record<string, unknown>;
  channel_overrides?: Record<string, unknown> | null;
  send_windows?: SendWindow[] | null;
  [field: string]: unknown;
}

/** Step types validated for shape but not executed yet: batch, http_fetch, throttle, branch, ... */
export interface OtherStep extends StepCommon {
  type: string;
  settings?: Record<string, unknown> | null;
  [field: string]: unknown;
}

export type Step = DelayStep | ChannelStep | OtherStep;

/** `step.type === 'delay'` cannot narrow the union because OtherStep's type is any string. */
export const isDelayStep = (step: Step): step is DelayStep => step.type === 'delay';
export const isChannelStep = (step: Step): step is ChannelStep => step.type === 'channel';

export interface WorkflowDefinition {
  key: string;
  name: string;
  description?: string | null;
  categories?: string[] | null;
  steps: Step[];
  /** Trigger-step conditions: when false the recipient's run halts. */
  conditions?: ConditionGroup | null;
  settings?: { is_commercial?: boolean; override_preferences?: boolean } | null;
  trigger_data_json_schema?: Record<string, unknown> | null;
  trigger_frequency?: TriggerFrequency | null;
  active?: boolean;
}

export type WorkflowValidation = { ok: true; workflow: WorkflowDefinition } | { ok: false; errors: FieldError[] };

const MAX_DELAY_MS = 365 * 86_400_000;

export function validateWorkflowDefinition(raw: unknown): WorkflowValidation {
  if (!isObject(raw)) return { ok: false, errors: [{ field: '', message: 'must be a JSON object' }] };
  const errors = checkSchema(WorkflowSchema, raw, '');
  errors.push(...checkConditionGroup(raw.conditions, 'conditions'));
  if (isObject(raw.trigger_data_json_schema)) {
    const problem = checkTriggerDataSchema(raw.trigger_data_json_schema);
    if (problem) errors.push({ field: 'trigger_data_json_schema', message: problem });
  }
  if (Array.isArray(raw.steps)) errors.push(...checkSteps(raw.steps, 'steps', new Map()));
  return errors.length === 0 ? { ok: true, workflow: raw as unknown as WorkflowDefinition } : { ok: false, errors };
}

/** `refs` maps every ref seen so far to its field, so duplicates across branches are caught. */
function checkSteps(steps: unknown[], base: string, refs: Map<string, string>, depth = 0): FieldError[] {
  return steps.flatMap((step, i) => checkStep(step, joinField(base, i), refs, depth));
}

/** Knock: at most 10 branches (default included) per branch step, nested at most 5 deep. */
const MAX_BRANCHES = 10;
const MAX_BRANCH_DEPTH = 5;

function checkStep(step: unknown, path: string, refs: Map<string, string>, depth: number): FieldError[] {
  if (!isObject(step)) return [{ field: path, message: 'must be an object' }];
  const errors = checkSchema(StepBaseSchema, step, path);
  if (typeof step.ref === 'string' && step.ref !== '') {
    const first = refs.get(step.ref);
    if (first) errors.push({ field: `${path}.ref`, message: `duplicates the ref "${step.ref}" of ${first}` });
    else refs.set(step.ref, path);
  }
  if (step.type === 'branch') {
    if (!isEmptyConditions(step.conditions)) errors.push({ field: `${path}.conditions`, message: 'is not allowed on branch steps; put conditions on the branches' });
  } else {
    errors.push(...checkConditionGroup(step.conditions, `${path}.conditions`));
  }
  switch (step.type) {
    case 'delay': return errors.concat(checkDelayStep(step, path));
    case 'channel': return errors.concat(checkChannelStep(step, path));
    case 'batch': return errors.concat(checkDurations(step, path, ['batch_window', 'batch_window_extension_limit']));
    case 'throttle': return errors.concat(checkDurations(step, path, ['throttle_window']));
    case 'wait_for_event': return errors.concat(checkDurations(step, path, ['expires_after']));
    case 'branch': return errors.concat(checkBranchStep(step.branches, `${path}.branches`, refs, depth + 1));
    case 'random_cohort': return errors.concat(checkBranches(step.cohort_branches, `${path}.cohort_branches`, refs, depth + 1));
    default: return errors;
  }
}

function checkDelayStep(step: Record<string, unknown>, path: string): FieldError[] {
  const settings = step.settings;
  if (!isObject(settings)) return [{ field: `${path}.settings`, message: 'is required: set delay_for and/or delay_until_field_path' }];
  const errors = checkSchema(DelaySettingsSchema, settings, `${path}.settings`);
  if (errors.length > 0) return errors;
  const delayFor = settings.delay_for as Duration | null | undefined;
  const hasPath = typeof settings.delay_until_field_path === 'string';
  if (!delayFor && !hasPath) {
    return [{ field: `${path}.settings`, message: 'needs delay_for or delay_until_field_path' }];
  }
  // With a field path, delay_for is an offset that may be negative ("before"); alone it must wait forward.
  if (delayFor && !hasPath) {
    if (delayFor.value < 0) return [{ field: `${path}.settings.delay_for.value`, message: 'must not be negative for a fixed delay' }];
    const ms = durationToMs(delayFor);
    if ((ms === null && delayFor.value > 12) || (ms !== null && ms > MAX_DELAY_MS)) {
      return [{ field: `${path}.settings.delay_for`, message: `${formatDuration(delayFor)} exceeds the 365-day maximum delay` }];
    }
  }
  return [];
}

function checkChannelStep(step: Record<string, unknown>, path: string): FieldError[] {
  const errors = checkSchema(ChannelStepSchema, step, path);
  const hasKey = typeof step.channel_key === 'string' && step.channel_key !== '';
  const hasGroup = typeof step.channel_group_key === 'string' && step.channel_group_key !== '';
  if (hasKey && hasGroup) errors.push({ field: `${path}.channel_key`, message: 'set channel_key or channel_group_key, not both' });
  if (!hasKey && !hasGroup) errors.push({ field: `${path}.channel_key`, message: 'channel_key or channel_group_key is required' });
  // The template shape depends on the channel type; only in-app feed is rendered so far.
  if (step.channel_type === 'in_app_feed' && isObject(step.template)) {
    errors.push(...checkSchema(InAppFeedTemplateSchema, step.template, `${path}.template`));
  }
  return errors;
}

function checkDurations(step: Record<string, unknown>, path: string, fields: string[]): FieldError[] {
  if (!isObject(step.settings)) return [];
  const settings = step.settings;
  return fields
    .filter((f) => settings[f] !== undefined && settings[f] !== null)
    .flatMap((f) => checkSchema(DurationSchema, settings[f], `${path}.settings.${f}`));
}

function checkBranchStep(branches: unknown, path: string, refs: Map<string, string>, depth: number): FieldError[] {
  const errors = checkBranches(branches, path, refs, depth);
  if (!Array.isArray(branches)) return errors;
  if (depth > MAX_BRANCH_DEPTH) errors.push({ field: path, message: `branches are nested more than ${MAX_BRANCH_DEPTH} deep` });
  if (branches.length > MAX_BRANCHES) errors.push({ field: path, message: `has ${branches.length} branches; at most ${MAX_BRANCHES} are allowed` });
  const defaults = branches.filter((b) => isObject(b) && isEmptyConditions(b.conditions)).length;
  if (defaults === 0) errors.push({ field: path, message: 'needs a default branch (one without conditions)' });
  if (defaults > 1) errors.push({ field: path, message: 'has more than one default branch (without conditions)' });
  return errors;
}

function checkBranches(branches: unknown, path: string, refs: Map<string, string>, depth: number): FieldError[] {
  if (!Array.isArray(branches)) return [{ field: path, message: 'must be an array' }];
  return branches.flatMap((branch, i) => {
    const at = joinField(path, i);
    if (!isObject(branch)) return [{ field: at, message: 'must be an object' }];
    const errors = checkSchema(BranchSchema, branch, at);
    errors.push(...checkConditionGroup(branch.conditions, `${at}.conditions`));
    if (Array.isArray(branch.steps)) errors.push(...checkSteps(branch.steps, `${at}.steps`, refs, depth));
    return errors;
  });
}

/** `{all: [...]}` or `{any: [...]}`, nesting allowed; null, absent or `{}` mean no conditions. */
function checkConditionGroup(group: unknown, path: string): FieldError[] {
  if (group === undefined || group === null) return [];
  if (!isObject(group)) return [{ field: path, message: 'must be an object with "all" or "any"' }];
  const hasAll = 'all' in group;
  const hasAny = 'any' in group;
  if (!hasAll && !hasAny) {
    return Object.keys(group).length === 0 ? [] : [{ field: path, message: 'must be an object with "all" or "any"' }];
  }
  if (hasAll && hasAny) return [{ field: path, message: 'must have either "all" or "any", not both' }];
  const key = hasAll ? 'all' : 'any';
  const items = group[key];
  if (!Array.isArray(items)) return [{ field: `${path}.${key}`, message: 'must be an array' }];
  return items.flatMap((item, i) => {
    const at = joinField(`${path}.${key}`, i);
    if (isObject(item) && ('all' in item || 'any' in item)) return checkConditionGroup(item, at);
    return checkCondition(item, at);
  });
}

function checkCondition(condition: unknown, path: string): FieldError[] {
  if (!isObject(condition)) return [{ field: path, message: 'must be a condition {variable, operator, argument}' }];
  const errors = checkSchema(ConditionSchema, condition, path);
  const { operator, argument } = condition;
  const known = (CONDITION_OPERATORS as readonly unknown[]).includes(operator);
  if (known && !ARGUMENTLESS_OPERATORS.has(operator as string) && (argument === undefined || argument === null)) {
    errors.push({ field: `${path}.argument`, message: `is required for operator "${operator}"` });
  }
  return errors;
}

function isEmptyConditions(value: unknown): boolean {
  return value === undefined || value === null || (isObject(value) && Object.keys(value).length === 0);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A workflow's current stored version with the times Knock shows (first stored, last changed). */
export interface StoredWorkflow {
  key: string;
  sha: string;
  active: boolean;
  definition: WorkflowDefinition;
  createdAt: Date;
  updatedAt: Date;
}
