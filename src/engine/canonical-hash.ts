import { createHash } from 'node:crypto';

/** Hash of a JSON value that ignores key order, for comparing requests under one Idempotency-Key. */
export function canonicalHash(value: unknown): string {
  const canon = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
    if (v && typeof v === 'object') {
      return `{${Object.keys(v as object).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .map((k) => `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`).join(',')}}`;
    }
    return JSON.stringify(v) ?? 'null';
  };
  return createHash('sha256').update(canon(value)).digest('hex');
}
