import type { CallSummary, SendResult } from './types.js';

/**
 * One HTTP call to a provider's API, described for the delivery log with its secrets redacted,
 * and classified the way every HTTP provider classifies it: 2xx sent; 408, 429, 5xx, timeouts
 * and network failures retryable; any other status permanent. Providers build the request and
 * read the answer; this does the transport, the deadline and the log.
 */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  url: string;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string or URLSearchParams as is. */
  body?: Record<string, unknown> | unknown[] | string | URLSearchParams | null;
  /** Header names (any case) whose values the log shows as `[REDACTED]`; `authorization` always is. */
  secretHeaders?: string[];
  /** Literal secret values removed from the logged URL, query and body (API keys in paths, tokens in bodies). */
  secretValues?: (string | undefined | null)[];
  timeoutMs?: number;
}

export interface HttpAnswer {
  /** 0 when no answer came (refused, reset, timed out). */
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON when the body is JSON, else the text. */
  body: unknown;
  /** The network error when there was no answer. */
  error: string | null;
  call: CallSummary;
}

const REDACTED = '[REDACTED]';
const DEFAULT_TIMEOUT_MS = 15_000;
/** Response bodies kept in a log entry (a provider's error page can be large). */
const MAX_LOGGED_BODY = 8_192;

function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join(REDACTED);
  return out;
}

function scrubValue(value: unknown, secrets: string[]): unknown {
  if (typeof value === 'string') return scrub(value, secrets);
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, secrets));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubValue(v, secrets)]));
  return value;
}

export async function httpCall(req: HttpRequest): Promise<HttpAnswer> {
  const secrets = (req.secretValues ?? []).filter((s): s is string => typeof s === 'string' && s !== '');
  const hidden = new Set(['authorization', ...(req.secretHeaders ?? []).map((h) => h.toLowerCase())]);
  const headers: Record<string, string> = { ...req.headers };
  let body: string | URLSearchParams | undefined;
  if (req.body != null) {
    if (typeof req.body === 'string' || req.body instanceof URLSearchParams) body = req.body;
    else {
      body = JSON.stringify(req.body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    }
  }
  const url = new URL(req.url);
  const loggedBody: string | Record<string, unknown> = req.body == null ? ''
    : typeof req.body === 'string' ? scrub(req.body, secrets)
      : req.body instanceof URLSearchParams ? scrub(req.body.toString(), secrets)
        : scrubValue(req.body, secrets) as Record<string, unknown>;
  const request: CallSummary['request'] = {
    method: req.method,
    host: url.host,
    path: scrub(url.pathname, secrets),
    query: url.search ? scrub(url.search.slice(1), secrets) : null,
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, hidden.has(k.toLowerCase()) ? REDACTED : scrub(v, secrets)])),
    body: loggedBody,
  };
  try {
    const res = await fetch(url, { method: req.method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(req.timeoutMs ?? DEFAULT_TIMEOUT_MS) });
    const text = await res.text();
    let parsed: unknown = text;
    if (text !== '' && (res.headers.get('content-type') ?? '').includes('json')) {
      try { parsed = JSON.parse(text); } catch { /* keep the text */ }
    }
    const resHeaders = Object.fromEntries(res.headers.entries());
    const logged = typeof parsed === 'string' ? scrub(parsed.slice(0, MAX_LOGGED_BODY), secrets) : scrubValue(parsed, secrets) as Record<string, unknown>;
    return { status: res.status, headers: resHeaders, body: parsed, error: null, call: { request, response: { status: res.status, headers: resHeaders, body: logged } } };
  } catch (err) {
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    const error = e.name === 'TimeoutError' ? `timed out after ${req.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms` : e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
    return { status: 0, headers: {}, body: null, error, call: { request, response: { status: 0, headers: {}, body: `no response: ${error}` } } };
  }
}

/** True for answers worth another attempt (or the next provider): no answer, 408, 429, 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

/**
 * The usual verdict on one call: 2xx → sent with the id `idOf` finds in the answer (or
 * `fallbackId`), otherwise retryable or permanent by status, with `errorOf`'s reading of the body.
 */
export function verdict(answer: HttpAnswer, idOf: (body: unknown) => unknown, fallbackId: string, errorOf?: (body: unknown) => string | undefined): SendResult {
  if (answer.status >= 200 && answer.status < 300) {
    const id = idOf(answer.body);
    return { outcome: 'sent', providerMessageId: typeof id === 'string' || typeof id === 'number' ? String(id) : fallbackId, call: answer.call };
  }
  const detail = answer.error ?? errorOf?.(answer.body) ?? (typeof answer.body === 'string' ? answer.body.slice(0, 200) : JSON.stringify(answer.body)?.slice(0, 200));
  const error = answer.status === 0 ? `no response: ${detail}` : `HTTP ${answer.status}: ${detail}`;
  return { outcome: isRetryableStatus(answer.status) ? 'retryable' : 'permanent', error, call: answer.call };
}

/** The permanent outcome of a call never made (missing or bad settings), logged like a call to `url`. */
export function notSent(url: string, reason: string, method: CallSummary['request']['method'] = 'POST'): SendResult {
  let host = '';
  let path = '/';
  try { ({ host, pathname: path } = new URL(url)); } catch { /* an unparsable base_url */ }
  return {
    outcome: 'permanent',
    error: reason,
    call: { request: { method, host, path, query: null, headers: {}, body: {} }, response: { status: 0, headers: {}, body: `not sent: ${reason}` } },
  };
}
