import { OutboundError, sendOutbound } from '../net/outbound-http.js';
import type { CallSummary, SendResult } from './types.js';
import { inClientSpan } from '../telemetry/http-client.js';

/**
 * One HTTP call to a provider's API, described for the delivery log with its secrets redacted,
 * and classified the way every HTTP provider classifies it: 2xx sent; 408, 429, 5xx, timeouts
 * and network failures retryable; any other status permanent. Providers build the request and
 * read the answer; this does the transport, the deadline and the log.
 *
 * Every call site says where its URL came from (`urlFrom`), because that decides the transport:
 * - `settings`: the operator's channel configuration (a `base_url`, a service account's
 *   `token_uri`, a provider's default origin). Trusted like the rest of the operator's
 *   configuration, so it may point at a proxy or stand-in on a private network; sent with the
 *   global `fetch` (its connections are kept alive and reused), redirects not followed, at most
 *   MAX_CALLS_PER_ORIGIN calls in flight per origin (the rest wait their turn), so a burst of
 *   deliveries does not open hundreds of connections to one provider.
 * - `data`: recipient channel data or a rendered template (chat incoming-webhook URLs). Sent
 *   only through the guarded client (net/outbound-http.ts): the resolved address is checked at
 *   connect time, redirects are never followed, and a refused address is a permanent failure
 *   with no connection made.
 */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  url: string;
  urlFrom: 'settings' | 'data';
  /** For `data` URLs: the operator's HERALD_OUTBOUND_ALLOW_PRIVATE_NETWORKS (SendContext.outbound). */
  allowPrivateNetworks?: boolean;
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
  /** No answer, and a retry would get none either: a refused address, an unknown host. */
  final?: boolean;
  /** Why there was no answer, in a word (`timeout`, `ECONNREFUSED`, `refused_address`, ...): the trace's `error.type`. */
  errorType?: string;
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

/** Calls in flight per origin through `fetch`; guarded calls are bounded by their agents' sockets. */
export const MAX_CALLS_PER_ORIGIN = 32;
const origins = new Map<string, { active: number; waiting: (() => void)[] }>();

/** Runs `call` once fewer than MAX_CALLS_PER_ORIGIN calls to `origin` are in flight. */
async function bounded<T>(origin: string, call: () => Promise<T>): Promise<T> {
  let slot = origins.get(origin);
  if (!slot) origins.set(origin, slot = { active: 0, waiting: [] });
  const s = slot;
  if (s.active >= MAX_CALLS_PER_ORIGIN) await new Promise<void>((resolve) => s.waiting.push(resolve));
  else s.active += 1;
  try {
    return await call();
  } finally {
    // The slot passes straight to the next waiter; the origin's entry goes once nobody uses it.
    const next = s.waiting.shift();
    if (next) next();
    else if (--s.active === 0) origins.delete(origin);
  }
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
  // A client span when tracing is on, whose context the provider receives as W3C `traceparent`
  // (added after the log summary was made, so delivery logs show the request as the provider's
  // docs do); the recorded path is the scrubbed one (a chat webhook URL is its own credential).
  return inClientSpan(
    { method: req.method, url, headers, path: request.path },
    () => (req.urlFrom === 'data' ? guardedCall(url, req, headers, body, secrets, request) : fetchCall(url, req, headers, body, secrets, request)),
    (answer) => ({ status: answer.status, errorType: answer.errorType, error: answer.error }),
  );
}

/** A call to a URL from the operator's settings, with the global `fetch`. */
async function fetchCall(
  url: URL, req: HttpRequest, headers: Record<string, string>, body: string | URLSearchParams | undefined,
  secrets: string[], request: CallSummary['request'],
): Promise<HttpAnswer> {
  try {
    const { res, text } = await bounded(url.origin, async () => {
      const res = await fetch(url, { method: req.method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(req.timeoutMs ?? DEFAULT_TIMEOUT_MS) });
      return { res, text: await res.text() };
    });
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
    const errorType = e.name === 'TimeoutError' ? 'timeout' : e.cause?.code ?? 'network';
    return { status: 0, headers: {}, body: null, error, errorType, call: { request, response: { status: 0, headers: {}, body: `no response: ${error}` } } };
  }
}

/** A call to a URL that came from data, through the SSRF-guarded client. */
async function guardedCall(
  url: URL, req: HttpRequest, headers: Record<string, string>, body: string | URLSearchParams | undefined,
  secrets: string[], request: CallSummary['request'],
): Promise<HttpAnswer> {
  if (body instanceof URLSearchParams && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    headers['content-type'] = 'application/x-www-form-urlencoded;charset=UTF-8';
  }
  try {
    const res = await sendOutbound(
      { method: req.method, url, headers, body: body?.toString() },
      { allowPrivateNetworks: req.allowPrivateNetworks ?? false, timeoutMs: req.timeoutMs ?? DEFAULT_TIMEOUT_MS },
    );
    let parsed: unknown = res.body;
    if (res.body !== '' && (res.headers['content-type'] ?? '').includes('json')) {
      try { parsed = JSON.parse(res.body); } catch { /* keep the text */ }
    }
    const logged = typeof parsed === 'string' ? scrub(parsed.slice(0, MAX_LOGGED_BODY), secrets) : scrubValue(parsed, secrets) as Record<string, unknown>;
    return { status: res.status, headers: res.headers, body: parsed, error: null, call: { request, response: { status: res.status, headers: res.headers, body: logged } } };
  } catch (err) {
    if (!(err instanceof OutboundError)) throw err;
    const error = scrub(err.message, secrets);
    // A refused address was never connected to: the log says so rather than "no response".
    const logged = `${err.kind === 'refused_address' ? 'not sent' : 'no response'}: ${error}`;
    return { status: 0, headers: {}, body: null, error, final: !err.retryable, errorType: err.kind, call: { request, response: { status: 0, headers: {}, body: logged } } };
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
  // A final no-answer (a refused address) names its own reason; "no response" would suggest a try was made.
  const error = answer.status !== 0 ? `HTTP ${answer.status}: ${detail}` : answer.final ? detail ?? 'not sent' : `no response: ${detail}`;
  return { outcome: isRetryableStatus(answer.status) && !answer.final ? 'retryable' : 'permanent', error, call: answer.call };
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
