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
