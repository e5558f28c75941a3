/**
 * The one way the dashboard talks to Herald: same-origin fetches carrying the session cookie
 * (never an Authorization header), the CSRF header on every write, and Knock's error shape
 * turned into an ApiError whose message a person can read.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors: { field?: string; message?: string }[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The message with the first few field errors, as one line. */
  get readable(): string {
    const details = this.errors
      .map((e) => [e.field, e.message].filter(Boolean).join(': '))
      .filter(Boolean)
      .slice(0, 3);
    return details.length ? `${this.message} (${details.join('; ')})` : this.message;
  }
}

export const isUnauthorized = (e: unknown): boolean => e instanceof ApiError && e.status === 401;

export type Query = Record<string, string | number | boolean | string[] | undefined | null>;

/** `?a=1&b=2` from the defined, non-empty values (arrays as repeated keys, as Herald's `qs` reads them). */
export function queryString(query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const item of v) params.append(`${k}[]`, item);
    else params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
}

export async function api<T>(path: string, { method = 'GET', query, body, signal }: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-herald-csrf'] = '1';
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path + queryString(query), {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'network_error', 'Herald could not be reached. Is it running?');
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const err = (parsed ?? {}) as { code?: string; message?: string; errors?: { field?: string; message?: string }[] };
    throw new ApiError(res.status, err.code ?? `http_${res.status}`, err.message ?? `${res.status} ${res.statusText}`, Array.isArray(err.errors) ? err.errors : []);
  }
  return parsed as T;
}

/** A message for any error a query or mutation may raise. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.readable;
  if (e instanceof Error) return e.message;
  return String(e);
}
