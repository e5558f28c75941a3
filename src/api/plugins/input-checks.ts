import { errors, type FieldError } from '../../domain/errors.js';
import { CONTROL_CHARS, ID_MAX_LENGTH, IDEMPOTENCY_KEY_MAX_LENGTH } from '../../domain/limits.js';
import { findUnstorableText, joinField } from '../../domain/stored-text.js';
import type { App } from '../types.js';

/**
 * Checks what the body parser does not see, for every route alike (a new route cannot forget):
 * - path parameters are ids or keys: at most ID_MAX_LENGTH characters, no control characters
 *   (a `%00` in the path decodes to NUL);
 * - query values: no NUL, no lone surrogate;
 * - the Idempotency-Key header: at most IDEMPOTENCY_KEY_MAX_LENGTH visible characters (a longer
 *   key used to be truncated, so two different keys could collide).
 * Runs before schema validation, so the answer names the field whatever the route's schema says.
 */
export function registerInputChecks(app: App): void {
  app.addHook('preValidation', async (request) => {
    const bad: FieldError[] = [];
    for (const [name, value] of Object.entries((request.params ?? {}) as Record<string, unknown>)) {
      if (typeof value !== 'string') continue;
      const why = idProblem(value);
      if (why) bad.push({ field: joinField('', name), message: why, type: 'invalid' });
    }
    bad.push(...findUnstorableText(request.query ?? {}, ''));
    const key = request.headers['idempotency-key'];
    if (key !== undefined) {
      const why = idempotencyKeyProblem(Array.isArray(key) ? key.join(',') : key);
      if (why) bad.push({ field: 'Idempotency-Key', message: why, type: 'invalid' });
    }
    if (bad.length > 0) throw errors.invalidParams(`Invalid request: ${bad.map((e) => `${e.field} ${e.message}`).join('; ')}`, bad);
  });
}

/** Why a caller-chosen id cannot be used, or null. */
export function idProblem(id: string): string | null {
  // Characters are code points, as the body schemas (ajv) count them.
  const length = codePoints(id);
  if (length > ID_MAX_LENGTH) return `must be at most ${ID_MAX_LENGTH} characters (got ${length})`;
  if (CONTROL_CHARS.test(id)) return 'must not contain control characters (such as NUL)';
  return findUnstorableText(id, '')[0]?.message ?? null;
}

function idempotencyKeyProblem(key: string): string | null {
  if (key.length === 0) return 'must not be empty';
  if (codePoints(key) > IDEMPOTENCY_KEY_MAX_LENGTH) return `must be at most ${IDEMPOTENCY_KEY_MAX_LENGTH} characters (got ${codePoints(key)})`;
  if (CONTROL_CHARS.test(key)) return 'must not contain control characters';
  return null;
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
