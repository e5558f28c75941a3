import { HeraldError, type FieldError } from '../domain/errors.js';
import { INLINE_ENTITY_MAX_BYTES, TRIGGER_DATA_TOTAL_MAX_BYTES } from '../domain/limits.js';
import { toEntityKey } from '../domain/recipients.js';
import type { TriggerRequest } from './engine.js';
import { entityMapKey } from './ports.js';

const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v ?? {}));
const MB = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

/**
 * Refuses a trigger whose writes would be too large, before anything is written: trigger data is
 * copied into every recipient's run (with its `$trigger_data`), so 10 MB of data for 100
 * recipients is a gigabyte — it used to fail inside the database or V8 as a 500. Inline
 * recipient, actor and tenant properties are bounded one by one.
 */
export function checkTriggerSize(req: TriggerRequest): void {
  const problems: FieldError[] = [];
  const entity = (value: unknown, field: string) => {
    if (value === null || typeof value !== 'object') return;
    const { id: _i, collection: _c, $trigger_data: _t, ...props } = value as Record<string, unknown>;
    if (bytes(props) > INLINE_ENTITY_MAX_BYTES) {
      problems.push({ field, message: `inline properties may be at most ${INLINE_ENTITY_MAX_BYTES / 1024} KB`, type: 'too_large' });
    }
  };
  const dataBytes = bytes(req.data);
  let total = 0;
  const seen = new Set<string>();
  req.recipients.forEach((r, i) => {
    entity(r, `recipients[${i}]`);
    const key = entityMapKey(toEntityKey(r));
    if (seen.has(key)) return;
    seen.add(key);
    const own = typeof r === 'object' && r !== null ? (r as Record<string, unknown>).$trigger_data : undefined;
    total += dataBytes + (own === undefined ? 0 : bytes(own));
  });
  entity(req.actor, 'actor');
  entity(req.tenant, 'tenant');
  if (total > TRIGGER_DATA_TOTAL_MAX_BYTES) {
    problems.push({
      field: 'data',
      message: `is copied into each of the ${seen.size} recipients' runs: ${MB(total)} in all, more than the ${MB(TRIGGER_DATA_TOTAL_MAX_BYTES)} allowed; send fewer recipients per trigger or less data`,
      type: 'too_large',
    });
  }
  if (problems.length > 0) {
    throw new HeraldError(413, 'request_too_large', `The trigger is too large: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}.`, 'invalid_request_error', problems);
  }
}
