/**
 * Validates trigger `data` against a workflow's `trigger_data_json_schema` (reference §5.1):
 * a failing trigger is answered with 422 and these errors.
 *
 * Schemas are user-supplied JSON Schema (draft-07 by default, 2019-09 / 2020-12 when
 * `$schema` says so). Non-strict mode, because user schemas legitimately carry extra
 * annotations. Compiled validators are cached by the schema's JSON, since the same few
 * workflows are triggered over and over.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';

export interface TriggerDataError {
  /** `data.email`, `data.items[0].id`, or `data` for the payload itself. */
  field: string;
  message: string;
  /** `required` (missing property), `unrecognized` (not allowed by additionalProperties) or `invalid`. */
  type: 'required' | 'unrecognized' | 'invalid';
}

type AnyAjv = Ajv | Ajv2019 | Ajv2020;

function makeAjv<T extends AnyAjv>(instance: T): T {
  // ajv-formats is CommonJS; under NodeNext its plugin function is the `default` property.
  ajvFormats.default(instance as Ajv);
  return instance;
}

const options = { allErrors: true, strict: false } as const;
const engines = {
  draft7: makeAjv(new Ajv(options)),
  draft2019: makeAjv(new Ajv2019(options)),
  draft2020: makeAjv(new Ajv2020(options)),
};

const MAX_CACHED = 500;
const cache = new Map<string, ValidateFunction>();

function engineFor(schema: object): AnyAjv {
  const declared = (schema as { $schema?: unknown }).$schema;
  if (typeof declared === 'string' && declared.includes('2020-12')) return engines.draft2020;
  if (typeof declared === 'string' && declared.includes('2019-09')) return engines.draft2019;
  return engines.draft7;
}

/** Compiles (or fetches from cache); throws ajv's error when the schema itself is invalid. */
function compile(schema: object): ValidateFunction {
  const key = JSON.stringify(schema);
  const hit = cache.get(key);
  if (hit) return hit;
  const validate = engineFor(schema).compile(schema);
  // Oldest-first eviction keeps memory bounded when many schema versions come and go.
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
  cache.set(key, validate);
  return validate;
}

/** Null when `schema` compiles, else a message saying why; used when a workflow is saved. */
export function checkTriggerDataSchema(schema: object): string | null {
  try {
    compile(schema);
    return null;
  } catch (err) {
    return `is not a valid JSON schema: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/**
 * Errors of `data` against `schema`; an empty array means valid. Absent data is checked as
 * `{}`, as the trigger API treats it. Throws if the schema itself does not compile (workflow
 * validation rejects such schemas earlier).
 */
export function validateTriggerData(schema: object, data: unknown): TriggerDataError[] {
  const validate = compile(schema);
  if (validate(data === undefined ? {} : data)) return [];
  return (validate.errors ?? []).map(toTriggerDataError);
}

function toTriggerDataError(e: ErrorObject): TriggerDataError {
  const segments = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const field = segments.reduce(appendSegment, 'data');
  if (e.keyword === 'required') {
    const missing = String((e.params as { missingProperty: string }).missingProperty);
    return { field: appendSegment(field, missing), message: 'is required', type: 'required' };
  }
  if (e.keyword === 'additionalProperties') {
    const extra = String((e.params as { additionalProperty: string }).additionalProperty);
    return { field: appendSegment(field, extra), message: 'is not an allowed property', type: 'unrecognized' };
  }
  return { field, message: e.message ?? 'is invalid', type: 'invalid' };
}

/** Indices become `[0]`, identifier-like keys `.key`, anything else `["odd key"]`. */
function appendSegment(base: string, segment: string): string {
  if (/^\d+$/.test(segment)) return `${base}[${segment}]`;
  if (/^[A-Za-z_$][\w$-]*$/.test(segment)) return `${base}.${segment}`;
  return `${base}[${JSON.stringify(segment)}]`;
}
