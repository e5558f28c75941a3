/**
 * JSON-schema shapes of a Knock workflow definition (reference §6), checked with ajv.
 *
 * Only structure lives here (types, lengths, enums). Rules that span fields — unique refs,
 * channel_key xor channel_group_key, recursive condition groups, nested branch steps — are
 * in `workflow.ts`, which applies these schemas piece by piece so every error carries an
 * exact field path such as `steps[1].settings.delay_for.unit`.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { DURATION_UNITS } from './duration.js';
import { CONDITION_OPERATORS } from './condition-types.js';

export interface FieldError {
  field: string;
  message: string;
}

export const STEP_TYPES = [
  'channel', 'delay', 'batch', 'http_fetch', 'throttle', 'branch', 'trigger_workflow', 'update_data',
  'update_user', 'update_tenant', 'update_object', 'wait_for_event', 'random_cohort', 'ai_agent',
] as const;
export const CHANNEL_TYPES = ['email', 'sms', 'push', 'chat', 'in_app_feed', 'in_app_guide', 'http'] as const;
export const TRIGGER_FREQUENCIES = ['every_trigger', 'once_per_recipient', 'once_per_recipient_per_tenant'] as const;

/**
 * `type: [T, 'null']` rather than TypeBox's anyOf, so a wrong value yields one error
 * ("must be string,null") instead of one per branch.
 */
function Nullable(schema: TSchema) {
  const nullable: Record<string, unknown> = { ...schema, type: [(schema as unknown as { type: string }).type, 'null'] };
  if (Array.isArray(schema.enum)) nullable.enum = [...(schema.enum as unknown[]), null];
  return Type.Unsafe(nullable);
}

function StringEnum(values: readonly string[]) {
  return Type.Unsafe<string>({ type: 'string', enum: [...values] });
}

export const DurationSchema = Type.Object({
  unit: StringEnum(DURATION_UNITS),
  value: Type.Integer(),
});

export const WorkflowSchema = Type.Object({
  key: Type.String({ minLength: 3, maxLength: 255, pattern: '^[a-z0-9_-]+$' }),
  name: Type.String({ minLength: 1, maxLength: 255 }),
  description: Type.Optional(Nullable(Type.String({ maxLength: 280 }))),
  categories: Type.Optional(Nullable(Type.Array(Type.String()))),
  steps: Type.Array(Type.Unknown()),
  settings: Type.Optional(Nullable(Type.Object({
    is_commercial: Type.Optional(Type.Boolean()),
    override_preferences: Type.Optional(Type.Boolean()),
  }))),
  trigger_data_json_schema: Type.Optional(Nullable(Type.Object({}))),
  trigger_frequency: Type.Optional(Nullable(StringEnum(TRIGGER_FREQUENCIES))),
  active: Type.Optional(Type.Boolean()),
});

export const StepBaseSchema = Type.Object({
  ref: Type.String({ minLength: 1, maxLength: 255 }),
  type: StringEnum(STEP_TYPES),
  name: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
  description: Type.Optional(Nullable(Type.String())),
});

export const DelaySettingsSchema = Type.Object({
  delay_for: Type.Optional(Nullable(DurationSchema)),
  delay_until_field_path: Type.Optional(Nullable(Type.String({ minLength: 1 }))),
});

export const ChannelStepSchema = Type.Object({
  channel_key: Type.Optional(Nullable(Type.String())),
  channel_group_key: Type.Optional(Nullable(Type.String())),
  channel_type: Type.Optional(Nullable(StringEnum(CHANNEL_TYPES))),
  template: Type.Object({}),
  channel_overrides: Type.Optional(Nullable(Type.Object({}))),
  send_windows: Type.Optional(Nullable(Type.Array(Type.Object({}, { additionalProperties: true })))),
});

export const InAppFeedTemplateSchema = Type.Object({
  markdown_body: Type.String(),
  action_url: Type.Optional(Nullable(Type.String())),
  action_buttons: Type.Optional(Nullable(Type.Array(Type.Object({ label: Type.String(), action: Type.String() })))),
});

export const BranchSchema = Type.Object({
  name: Type.Optional(Nullable(Type.String())),
  steps: Type.Array(Type.Unknown()),
  terminates: Type.Optional(Nullable(Type.Boolean())),
});

export const ConditionSchema = Type.Object({
  variable: Type.String({ minLength: 1 }),
  operator: StringEnum(CONDITION_OPERATORS),
  argument: Type.Optional(Type.Unsafe({ type: ['string', 'number', 'boolean', 'null'] })),
});

// allowUnionTypes: the Nullable helper's `type: [T, 'null']` is intentional.
const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
const compiled = new WeakMap<TSchema, ValidateFunction>();

/** Errors of `value` against `schema`, with fields rooted at `base` (e.g. `steps[2]`). */
export function checkSchema(schema: TSchema, value: unknown, base: string): FieldError[] {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => toFieldError(e, base));
}

function toFieldError(e: ErrorObject, base: string): FieldError {
  const segments = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let field = segments.reduce(joinField, base);
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'required') {
    field = joinField(field, String((e.params as { missingProperty: string }).missingProperty));
    message = 'is required';
  } else if (e.keyword === 'enum') {
    const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.filter((v) => v !== null);
    message = `must be one of: ${allowed.join(', ')}`;
  } else if (e.keyword === 'type') {
    message = `must be ${String((e.params as { type: string | string[] }).type).replace(',null', ' or null')}`;
  }
  return { field, message };
}

/** `steps` + `1` → `steps[1]`; `steps[1]` + `ref` → `steps[1].ref`. */
export function joinField(base: string, segment: string | number): string {
  if (typeof segment === 'number' || /^\d+$/.test(segment)) return `${base}[${segment}]`;
  return base ? `${base}.${segment}` : segment;
}
