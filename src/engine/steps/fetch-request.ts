import { createHmac } from 'node:crypto';
import { renderString, type LiquidScope } from '../../templates/liquid.js';
import type { OutboundRequest } from '../../net/outbound-http.js';

/**
 * Turns an http_fetch step's RequestTemplate (knock-api.md §5.5, §6) into the request to send.
 * Every field but `method` is Liquid over the run scope. A problem here is the author's (a
 * bad template, URL or body), so it is thrown as a FetchSetupError and fails the step at once.
 */
export class FetchSetupError extends Error {}

const METHODS = new Set(['get', 'post', 'put', 'delete', 'patch']);
export const SIGNATURE_HEADER = 'x-knock-signature';

export async function renderFetchRequest(settings: Record<string, any>, scope: LiquidScope, nowMs: number): Promise<OutboundRequest> {
  const method = typeof settings.method === 'string' && settings.method !== '' ? settings.method.toLowerCase() : 'get';
  if (!METHODS.has(method)) throw new FetchSetupError(`method "${settings.method}" is not one of get, post, put, delete, patch`);
  if (typeof settings.url !== 'string' || settings.url.trim() === '') throw new FetchSetupError('settings.url is required');
  const rawUrl = (await renderString(settings.url, scope, 'settings.url')).trim();
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new FetchSetupError(`"${rawUrl.slice(0, 200)}" is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FetchSetupError(`the URL scheme ${url.protocol} is not http or https`);
  if (url.username || url.password) throw new FetchSetupError('credentials in the URL are not allowed; send them in a header');
  for (const [key, value] of await renderPairs(settings.query_params, scope, 'settings.query_params')) url.searchParams.append(key, value);

  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'Herald (http_fetch step)' };
  for (const [key, value] of await renderPairs(settings.headers, scope, 'settings.headers')) headers[key.toLowerCase()] = value;

  // Knock: the body is a template that is always sent as JSON. GET requests carry none.
  let body: string | undefined;
  if (method !== 'get' && settings.body != null && settings.body !== '') {
    body = (await renderString(typeof settings.body === 'string' ? settings.body : JSON.stringify(settings.body), scope, 'settings.body')).trim();
    try {
      JSON.parse(body);
    } catch {
      throw new FetchSetupError(`settings.body did not render to valid JSON: ${body.slice(0, 200)}`);
    }
    headers['content-type'] = 'application/json';
  }

  if (settings.signing_key != null && settings.signing_key !== '') {
    const key = await renderString(String(settings.signing_key), scope, 'settings.signing_key');
    headers[SIGNATURE_HEADER] = signature(key, nowMs, body ?? '');
  }
  return { method: method.toUpperCase(), url, headers, body };
}

/**
 * `t=<unix ms>,s=<base64 HMAC-SHA256(key, "<t>.<body>")>`. Milliseconds and base64 as in Knock's
 * outbound webhook signatures, so one verifier serves both; a request without a body signs "<t>.".
 */
export function signature(key: string, timestampMs: number, payload: string): string {
  const s = createHmac('sha256', key).update(`${timestampMs}.${payload}`).digest('base64');
  return `t=${timestampMs},s=${s}`;
}

/** `headers` / `query_params`: `[{key, value}]`, an object, or a template rendering to either as JSON. */
async function renderPairs(setting: unknown, scope: LiquidScope, field: string): Promise<[string, string][]> {
  if (setting == null || setting === '') return [];
  if (typeof setting === 'string') {
    const text = (await renderString(setting, scope, field)).trim();
    if (text === '') return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new FetchSetupError(`${field} did not render to JSON ([{"key": ..., "value": ...}] or an object): ${text.slice(0, 200)}`);
    }
    return literalPairs(parsed, field);
  }
  const out: [string, string][] = [];
  for (const [key, value] of literalPairs(setting, field)) {
    const name = (await renderString(key, scope, `${field}.${key}`)).trim();
    if (name !== '') out.push([name, await renderString(value, scope, `${field}.${name}`)]);
  }
  return out;
}

function literalPairs(value: unknown, field: string): [string, string][] {
  const text = (v: unknown) => (v == null ? '' : typeof v === 'string' ? v : JSON.stringify(v));
  if (Array.isArray(value)) {
    return value.map((pair, i) => {
      if (pair === null || typeof pair !== 'object' || typeof (pair as { key?: unknown }).key !== 'string') {
        throw new FetchSetupError(`${field}[${i}] must be {"key": ..., "value": ...}`);
      }
      return [(pair as { key: string }).key, text((pair as { value?: unknown }).value)];
    });
  }
  if (value !== null && typeof value === 'object') return Object.entries(value).map(([k, v]) => [k, text(v)]);
  throw new FetchSetupError(`${field} must be a list of {"key", "value"} pairs or an object`);
}
