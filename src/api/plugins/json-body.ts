import sjson from 'secure-json-parse';
import { errors, HeraldError } from '../../domain/errors.js';
import { nestingDepth } from '../../domain/json-depth.js';
import { JSON_MAX_DEPTH } from '../../domain/limits.js';
import { findUnstorableText } from '../../domain/stored-text.js';

/**
 * Parses a JSON request body, refusing before anything else sees it:
 * - nesting deeper than JSON_MAX_DEPTH (a deep value overflows the stack of JSON.stringify and of
 *   every recursive walker later on) — checked on the text, iteratively, before parsing;
 * - `__proto__` / `constructor.prototype` keys (prototype poisoning), via secure-json-parse;
 * - NUL characters and lone surrogates in any string or key, which PostgreSQL cannot store.
 * An empty body is no body: Knock's SDKs send `Content-Type: application/json` on bodiless calls.
 */
const MAYBE_UNSTORABLE = /\\u(0000|d[89a-f])/i;

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  const depth = nestingDepth(text, JSON_MAX_DEPTH);
  if (depth > JSON_MAX_DEPTH) {
    throw new HeraldError(400, 'invalid_params', `The request body nests deeper than ${JSON_MAX_DEPTH} levels of objects and arrays.`, 'invalid_request_error',
      [{ field: 'body', message: `nests deeper than ${JSON_MAX_DEPTH} levels`, type: 'too_deep' }]);
  }
  let value: unknown;
  try {
    value = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    const poisoned = /prototype/i.test((err as Error).message);
    throw new HeraldError(400, 'invalid_params', poisoned
      ? 'The request body contains a "__proto__" or "constructor.prototype" key, which is refused.'
      : `The request body is not valid JSON: ${(err as Error).message}`, 'invalid_request_error');
  }
  // Parsed strings can only hold NUL or a lone surrogate through a \u escape (raw ones are invalid
  // JSON, and UTF-8 decoding never yields a lone surrogate): without one, skip the walk.
  const bad = MAYBE_UNSTORABLE.test(text) ? findUnstorableText(value, '') : [];
  if (bad.length > 0) {
    const named = bad.map((e) => ({ ...e, field: e.field || 'body' }));
    throw errors.invalidParams(`Invalid request: ${named.map((e) => `${e.field} ${e.message}`).join('; ')}`, named);
  }
  return value;
}
