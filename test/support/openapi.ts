/**
 * Knock's public OpenAPI document as response validators, for contract tests.
 *
 * The document is Knock's own (knocklabs/docs `data/specs/api/openapi.yml`), vendored as
 * `test/contract/knock-openapi.yml` so a clean clone can run the suite (`KNOCK_OPENAPI` overrides). Its schemas are OpenAPI 3.0, so they are translated for ajv:
 * - `nullable: true` becomes `type: [t, 'null']` (or "null, or the rest" where there is no `type`);
 * - `oneOf` becomes `anyOf`: Knock's unions overlap (a full Object also satisfies User, whose
 *   additional properties are open; two chat channel-data shapes are both `{connections}`), so
 *   "exactly one" would reject Knock's own responses. A response must still match some member.
 * - `example`, `x-*` and other annotations are dropped.
 * Every `$ref: '#/components/schemas/X'` points into one added schema holding all components.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import ajvFormats from 'ajv-formats';
import { parse } from 'yaml';

type Schema = Record<string, unknown>;

interface Operation {
  operationId?: string;
  responses?: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}

interface Spec {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

const COMPONENTS_ID = 'knock-openapi-components';
const ANNOTATIONS = new Set(['example', 'examples', 'description', 'title', 'deprecated', 'default']);

export function knockSpecPath(): string {
  if (process.env.KNOCK_OPENAPI) return resolve(process.env.KNOCK_OPENAPI);
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'contract', 'knock-openapi.yml');
}

/** One OpenAPI 3.0 schema as JSON Schema for ajv (see the file comment). */
export function toJsonSchema(input: unknown): unknown {
  if (typeof input === 'boolean') return input;
  if (!input || typeof input !== 'object' || Array.isArray(input)) return input;
  const out: Schema = {};
  for (const [key, value] of Object.entries(input as Schema)) {
    if (ANNOTATIONS.has(key) || key.startsWith('x-') || key === 'nullable') continue;
    if (key === '$ref' && typeof value === 'string') {
      out.$ref = value.startsWith('#/') ? COMPONENTS_ID + value : value;
    } else if (key === 'properties' || key === 'patternProperties') {
      out[key] = Object.fromEntries(Object.entries(value as Schema).map(([name, s]) => [name, toJsonSchema(s)]));
    } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
      out[key === 'oneOf' ? 'anyOf' : key] = (value as unknown[]).map(toJsonSchema);
    } else if (key === 'items' || key === 'additionalProperties' || key === 'not') {
      out[key] = toJsonSchema(value);
    } else {
      out[key] = value;
    }
  }
  if ((input as Schema).nullable !== true) return out;
  if (typeof out.type === 'string') {
    out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return out;
  }
  return Object.keys(out).length === 0 ? {} : { anyOf: [{ type: 'null' }, out] };
}

let loaded: { spec: Spec; ajv: Ajv } | undefined;

function load() {
  if (loaded) return loaded;
  const file = knockSpecPath();
  if (!existsSync(file)) throw new Error(`Knock's OpenAPI document is not at ${file} (set KNOCK_OPENAPI to its path)`);
  const spec = parse(readFileSync(file, 'utf8')) as Spec;
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajvFormats.default(ajv);
  const schemas = Object.fromEntries(Object.entries(spec.components.schemas).map(([name, s]) => [name, toJsonSchema(s)]));
  ajv.addSchema({ $id: COMPONENTS_ID, components: { schemas } });
  loaded = { spec, ajv };
  return loaded;
}

/** `path: message (params)`, one line per ajv error. */
export function formatErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '(body)'}: ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`);
}

export interface ResponseContract {
  operationId: string;
  /** The ajv errors for a response body, readably; `[]` when it conforms. */
  validate(body: unknown): string[];
}

/**
 * The contract for one documented response: `method` and Knock's path template (e.g.
 * `GET /v1/users/{user_id}`) as the spec spells them. Throws when the spec has no such response.
 * A response without JSON content (204) conforms only with an empty body.
 */
export function responseContract(method: string, pathTemplate: string, status: number): ResponseContract {
  const { spec, ajv } = load();
  const op = spec.paths[pathTemplate]?.[method.toLowerCase()];
  if (!op) throw new Error(`Knock's OpenAPI document has no operation ${method.toUpperCase()} ${pathTemplate}`);
  const response = op.responses?.[String(status)];
  if (!response) throw new Error(`${op.operationId} documents no ${status} response`);
  const operationId = op.operationId ?? `${method} ${pathTemplate}`;
  const schema = response.content?.['application/json']?.schema;
  if (!schema) {
    return { operationId, validate: (body) => (body === undefined || body === '' ? [] : [`(body): ${operationId} ${status} has no content, got ${JSON.stringify(body)}`]) };
  }
  const check = ajv.compile(toJsonSchema(schema) as Schema);
  return {
    operationId,
    validate(body) {
      return check(body) ? [] : formatErrors(check.errors);
    },
  };
}

/** The component schema `name` (e.g. `InAppFeedItem`) as a validator, for parts of a body. */
export function componentValidator(name: string): (value: unknown) => string[] {
  const { spec, ajv } = load();
  if (!spec.components.schemas[name]) throw new Error(`Knock's OpenAPI document has no schema ${name}`);
  const check = ajv.getSchema(`${COMPONENTS_ID}#/components/schemas/${name}`);
  if (!check) throw new Error(`cannot compile schema ${name}`);
  return (value) => (check(value) ? [] : formatErrors(check.errors));
}
