import { errors } from '../domain/errors.js';

/**
 * Opaque pagination cursors. A cursor is the sort key of the row it points at, so a page query
 * is an index range scan (`(inserted_at, id) < ($1, $2)`) rather than an OFFSET.
 */
export function encodeCursor(values: readonly (string | number | Date | null)[]): string {
  const plain = values.map((v) => (v instanceof Date ? v.toISOString() : v));
  return Buffer.from(JSON.stringify(plain)).toString('base64url');
}

/** Returns null for a cursor that was not made by `encodeCursor` with `arity` values. */
export function decodeCursor(cursor: string | undefined, arity: number): (string | number | null)[] | null {
  if (!cursor) return null;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === arity) return parsed;
  } catch {
    // fall through
  }
  return null;
}

/**
 * Reads an `after`/`before` cursor over (inserted_at, id). A malformed cursor is the client's
 * error (422), never a silent restart at page one.
 */
export function readTimeIdCursor(cursor: string | undefined, field: 'after' | 'before'): [string, string] | null {
  if (cursor === undefined || cursor === '') return null;
  const v = decodeCursor(cursor, 2);
  if (!v || typeof v[0] !== 'string' || typeof v[1] !== 'string' || Number.isNaN(Date.parse(v[0]))) {
    throw errors.invalidParams(`The "${field}" cursor is not valid.`, [{ field, message: 'is not a cursor returned by this API', type: 'invalid' }]);
  }
  return [v[0], v[1]];
}

/**
 * Cuts a keyset page out of `pageSize + 1` fetched rows. Paging backwards (`before`) reads the
 * index the other way, so its rows are flipped back into the list's order here.
 */
export function keysetPage<T>(rows: T[], pageSize: number, paging: { after: unknown; before: unknown }, cursorOf: (row: T) => string) {
  const hasMore = rows.length > pageSize;
  const items = rows.slice(0, pageSize);
  if (paging.before) items.reverse();
  return {
    items,
    after: items.length && (paging.before || hasMore) ? cursorOf(items[items.length - 1]) : null,
    before: items.length && (paging.after || (paging.before && hasMore)) ? cursorOf(items[0]) : null,
  };
}
