import type { FastifyError } from 'fastify';
import { HeraldError, errors, type FieldError } from '../../domain/errors.js';
import { ID_PATTERN } from '../../domain/limits.js';
import { CommitOutcomeUnknown } from '../../store/db.js';
import type { App } from '../types.js';
import { frameworkError } from './framework-errors.js';

/**
 * PostgreSQL errors that can only come from the data sent (class 22 "data exception": NUL,
 * invalid text, out-of-range numbers and dates; 54000 "program limit exceeded": an index row too
 * large). They are the caller's fault, never a reason to retry.
 */
function isInputRejectedBySql(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^(22[0-9A-Z]{3}|54000)$/.test(code);
}

/** Turns an ajv error path such as `/recipients/0/id` into `recipients[0].id`. */
function fieldName(context: string | undefined, instancePath: string, missing?: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  if (missing) parts.push(missing);
  let out = context && context !== 'body' ? context : '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : (out ? `.${p}` : p);
  return out || (context ?? 'body');
}

function validationErrors(err: FastifyError): FieldError[] {
  return (err.validation ?? []).map((v) => {
    const missing = v.keyword === 'required' ? String((v.params as { missingProperty?: string }).missingProperty) : undefined;
    return {
      field: fieldName(err.validationContext, v.instancePath, missing),
      // The id pattern's regex means nothing to a caller: say what it refuses.
      message: v.keyword === 'pattern' && (v.params as { pattern?: string }).pattern === ID_PATTERN ? 'must not contain control characters' : v.message ?? 'is invalid',
      type: v.keyword === 'required' ? 'required' : 'invalid',
    };
  });
}

/** The single place where failures become responses in Knock's error shape. */
export function registerErrorHandling(app: App): void {
  app.setErrorHandler((err: FastifyError | HeraldError, request, reply) => {
    let herald: HeraldError;
    if (err instanceof HeraldError) {
      herald = err;
    } else if ((err as FastifyError).validation) {
      const fields = validationErrors(err as FastifyError);
      herald = errors.invalidParams(`Invalid request: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`, fields);
    } else if ((err as FastifyError).statusCode && (err as FastifyError).statusCode! < 500) {
      herald = frameworkError((err as FastifyError).code, (err as FastifyError).statusCode!, err.message);
    } else if (err instanceof CommitOutcomeUnknown) {
      request.log.error({ err }, 'connection lost during COMMIT: outcome unknown');
      herald = errors.outcomeUnknown(request.headers['idempotency-key'] !== undefined);
    } else if (isInputRejectedBySql(err)) {
      // A safety net: the checks above the store should have refused this input with the field named.
      request.log.warn({ err }, 'input refused by the database');
      herald = errors.invalidParams('A value in the request cannot be stored (it is malformed, out of range or too large).');
    } else {
      request.log.error({ err }, 'unhandled error');
      herald = errors.internal();
    }
    // Knock's SDK retries 409 and 5xx; only let it retry what is safe to retry.
    if (herald.status >= 500) reply.header('x-should-retry', 'true');
    reply.code(herald.status).send(herald.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    const e = errors.routeNotFound(request.method, request.url.split('?')[0]);
    reply.code(404).send(e.toBody());
  });
}
