import { LONE_SURROGATE } from './limits.js';
import type { FieldError } from './errors.js';

/**
 * PostgreSQL cannot store two things JavaScript strings may hold: the NUL character (text and
 * jsonb both refuse it) and a lone UTF-16 surrogate (not valid Unicode, so not valid UTF-8).
 * This finds them anywhere in a value — strings and object keys, at any depth — and names the
 * field, so a request carrying one is refused as a 4xx instead of failing in SQL as a 500.
 * Iterative (an explicit stack), so a deep value cannot overflow the call stack.
 */
export function findUnstorableText(value: unknown, root: string, limit = 10): FieldError[] {
  const found: FieldError[] = [];
  const stack: Array<[unknown, string]> = [[value, root]];
  while (stack.length > 0 && found.length < limit) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      const why = textProblem(v);
      if (why) found.push({ field: path, message: why, type: 'invalid' });
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
    } else if (v !== null && typeof v === 'object') {
      for (const key of Object.keys(v).reverse()) {
        const child = joinField(path, key);
        const why = textProblem(key);
        if (why) found.push({ field: child, message: `key ${why}`, type: 'invalid' });
        stack.push([(v as Record<string, unknown>)[key], child]);
      }
    }
  }
  return found;
}

/** Why a string cannot be stored, or null. */
export function textProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'contains a NUL character (\\u0000), which cannot be stored';
  if (!isWellFormed(s)) return 'contains a lone UTF-16 surrogate (not valid Unicode), which cannot be stored';
  return null;
}

function isWellFormed(s: string): boolean {
  // Native in Node 20 (String.prototype.isWellFormed); the regex is the fallback.
  const native = (s as unknown as { isWellFormed?: () => boolean }).isWellFormed;
  return native ? native.call(s) : !LONE_SURROGATE.test(s);
}

/** `data` + `a` → `data.a`; the key is shown printable (escaped, at most 64 characters). */
export function joinField(path: string, key: string): string {
  const printable = JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key).slice(1, -1).replace(/[\ud800-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
  return path ? `${path}.${printable}` : printable;
}
