import qs from 'qs';

/**
 * Knock's SDKs encode query strings several ways: `a[]=x`, `a[0][id]=x`, `a[b]=x` (node) and
 * `a.b=x` (browser client). qs with `allowDots` reads all of them into the same nested shape.
 */
export function parseQueryString(query: string): Record<string, unknown> {
  return qs.parse(query, { allowDots: true, arrayLimit: 1000, depth: 6, parameterLimit: 5000 }) as Record<string, unknown>;
}
