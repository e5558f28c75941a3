import { createRequire } from 'node:module';
import { Ajv, type AnySchema, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyServerOptions } from 'fastify';

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
type ValidatorFactory = NonNullable<CompilersFactory['buildValidator']>;
type SerializerFactory = NonNullable<CompilersFactory['buildSerializer']>;
/** Ajv's second argument (Fastify passes the request as parent data), as ValidateFunction declares it. */
type DataValidationCxt = Parameters<ValidateFunction>[1];

/** What Fastify calls for one request part: Ajv's signature, with the errors of the last call. */
interface LazyValidate {
  (data: unknown, dataCxt?: DataValidationCxt): boolean;
  errors: ErrorObject[] | null | undefined;
  schemaEnv: true;
}

/**
 * A validator that compiles its schema on its first call and keeps the result. Compiling every
 * route's schemas when the routes are registered cost ~430 ms of start-up CPU;
 * most processes only ever serve a few routes, and the first request of a route pays a few ms.
 * Behaviour is Ajv's own: the same compiled function, its `errors` copied after each call.
 */
function compileOnFirstCall(ajv: () => Ajv, schema: AnySchema): LazyValidate {
  let compiled: ValidateFunction | undefined;
  const validate = ((data: unknown, dataCxt?: DataValidationCxt) => {
    compiled ??= ajv().compile(schema);
    const valid = compiled(data, dataCxt);
    validate.errors = compiled.errors;
    return valid;
  }) as LazyValidate;
  validate.errors = null;
  // Fastify hands the request as parent data only to functions carrying Ajv's `schemaEnv`; with
  // it Ajv can coerce or default a whole request part (e.g. a missing querystring) in place.
  validate.schemaEnv = true;
  return validate;
}

/** Fastify's own response serializer builder (fast-json-stringify), loaded from fastify's dependencies when first needed. */
function defaultSerializerFactory(): SerializerFactory {
  const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
  return (fromFastify('@fastify/fast-json-stringify-compiler') as { SerializerSelector: () => SerializerFactory }).SerializerSelector();
}

/**
 * The compilers Fastify is built with (its `schemaController.compilersFactory`). Given here rather
 * than set afterwards, so Fastify does not load its default Ajv and fast-json-stringify compilers
 * at construction (~100-150 ms of start-up CPU) only to have them replaced.
 *
 * Validation: two Ajv instances. Query strings arrive as text, so they are coerced
 * (`page_size=5` -> 5, a single `status=x` -> ['x']); JSON bodies are typed already and are NOT
 * coerced, so `"recipients": "ada"` is a 422 rather than silently becoming `["ada"]`. Each Ajv is
 * built on the first compile, each route's validator on its first call.
 *
 * Serialization (the few routes with a response schema): Fastify's default, built on a route's
 * first response.
 */
export function schemaCompilers(): { buildValidator: ValidatorFactory; buildSerializer: SerializerFactory } {
  const make = (coerceTypes: boolean | 'array') => {
    let ajv: Ajv | undefined;
    return () => {
      if (!ajv) {
        ajv = new Ajv({ allErrors: true, coerceTypes, useDefaults: true, removeAdditional: false, strict: false });
        (addFormats as unknown as (a: Ajv) => void)(ajv);
      }
      return ajv;
    };
  };
  const bodyAjv = make(false);
  const textAjv = make('array');
  const validatorCompiler = ({ schema, httpPart }: { schema: unknown; httpPart?: string }) => compileOnFirstCall(httpPart === 'body' ? bodyAjv : textAjv, schema as AnySchema);
  let serializers: SerializerFactory | undefined;
  return {
    buildValidator: (() => validatorCompiler) as unknown as ValidatorFactory,
    buildSerializer: ((externalSchemas: unknown, serializerOpts: unknown) => (route: unknown) => {
      let serialize: ((data: unknown) => string) | undefined;
      return (data: unknown) => {
        serializers ??= defaultSerializerFactory();
        serialize ??= (serializers as unknown as (e: unknown, o: unknown) => (r: unknown) => (d: unknown) => string)(externalSchemas, serializerOpts)(route);
        return serialize(data);
      };
    }) as unknown as SerializerFactory,
  };
}
