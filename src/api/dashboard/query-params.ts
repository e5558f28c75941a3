/** The dashboard's list filters as the store takes them; malformed values are 422s. */
import { errors } from '../../domain/errors.js';
import { USERS, type EntityKey } from '../../domain/recipients.js';

/** `recipient=ada` (a user) or `recipient={"collection":"projects","id":"p1"}` (an object). */
export function parseRecipient(raw: string | undefined, field = 'recipient'): EntityKey | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!raw.trimStart().startsWith('{')) return { collection: USERS, id: raw };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const o = parsed as { collection?: unknown; id?: unknown } | undefined;
  if (!o || typeof o.collection !== 'string' || typeof o.id !== 'string' || o.collection === '' || o.id === '') {
    throw errors.invalidParams(`"${field}" must be a user id or a JSON object {"collection", "id"}.`, [{ field, message: 'must be a user id or {"collection","id"}', type: 'invalid' }]);
  }
  return { collection: o.collection, id: o.id };
}

/** `status=queued,paused`: each one of `allowed`. */
export function parseList(raw: string | undefined, allowed: readonly string[], field: string): string[] | undefined {
  if (raw === undefined || raw === '') return undefined;
  const values = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = values.filter((v) => !allowed.includes(v));
  if (bad.length > 0) throw errors.invalidParams(`"${field}" must be among ${allowed.join(', ')}.`, [{ field, message: `unknown value "${bad[0].slice(0, 40)}"`, type: 'invalid' }]);
  return values;
}
