/**
 * A workflow's storable body, whatever it came from (a knock-cli push, @knocklabs/mgmt, a file
 * in the workflows folder, possibly pulled by knock-cli): Knock's read-only fields (which
 * knock-cli keeps under `__readonly`), `$schema` and `__annotation`s removed, keyed by `key`.
 */
const READONLY_FIELDS = ['environment', 'active', 'valid', 'sha', 'created_at', 'updated_at', '__readonly', '__annotation', '$schema'];

function stripAnnotations(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripAnnotations);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => k !== '__annotation').map(([k, v]) => [k, stripAnnotations(v)]));
}

export function workflowBody(key: string, raw: Record<string, unknown>): Record<string, unknown> {
  const body = stripAnnotations(raw) as Record<string, unknown>;
  for (const field of READONLY_FIELDS) delete body[field];
  return { ...body, key };
}
