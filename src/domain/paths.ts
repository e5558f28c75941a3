/**
 * Dotted-path lookups shared by conditions, delays and templates' callers.
 *
 * Paths look like `data.user.email`, `data.items.0.id` or `data.items[0].id`. Only own
 * properties are followed, so a path such as `data.constructor` or `data.__proto__` never
 * reaches into JavaScript prototypes (paths come from user-authored workflows).
 */

/** Splits `a.b[0].c` into `['a', 'b', '0', 'c']`. Empty segments are dropped. */
export function splitPath(path: string): string[] {
  return path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((segment) => segment.length > 0);
}

/** The value at `path` inside `obj`, or `undefined` when any segment is missing. */
export function getPath(obj: unknown, path: string): unknown {
  let current: unknown = obj;
  for (const segment of splitPath(path)) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
