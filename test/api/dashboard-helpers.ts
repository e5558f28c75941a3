/**
 * Calling Herald as the dashboard does: sign in once, then send the session cookie (no
 * Authorization header) and, on writes, the CSRF header.
 */
import type { TestHerald } from '../support/harness.js';

export interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: unknown = text;
  try { body = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body };
}

/** POST /dashboard/api/session; `cookie` is the `name=value` to send back, when one was set. */
export async function signIn(t: TestHerald, token: string, environment?: string): Promise<Answer & { cookie?: string; setCookie?: string }> {
  const res = await fetch(`${t.url}/dashboard/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-herald-csrf': '1' },
    body: JSON.stringify(environment === undefined ? { token } : { token, environment }),
  });
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('herald_dashboard='));
  return { ...(await answer(res)), setCookie, cookie: setCookie?.split(';')[0] };
}

/** A request as the dashboard's browser sends it: the cookie, CSRF header on writes, no key. */
export async function asDashboard(t: TestHerald, cookie: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const write = method !== 'GET' && method !== 'HEAD';
  const res = await fetch(t.url + path, {
    method,
    headers: { cookie, ...(write ? { 'x-herald-csrf': '1' } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return answer(res);
}

/** A request with explicit headers only (no cookie, no key unless given). */
export async function raw(t: TestHerald, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
  const res = await fetch(t.url + path, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return answer(res);
}
