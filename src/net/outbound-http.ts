/**
 * One outbound HTTP request with a hard deadline, a response size cap and the SSRF guard: the
 * one client for every connection whose address comes from data (http_fetch steps, webhook
 * channel URLs, chat incoming-webhook URLs from channel data). Provider calls to addresses from
 * the operator's channel settings (a base_url) may use `fetch`; an address from data never may.
 *
 * Built on node:http/https rather than `fetch` because their `lookup` option is the hook that
 * makes the connection go to the address the guard checked (see ssrf-guard.ts), and because
 * redirects are not followed: a 3xx is an answer like any other, so a redirect can never lead
 * to an address that was not checked. Every request gets its own connection (`agent: false`):
 * a pooled socket opened by some other, unguarded caller is never reused.
 */
import http from 'node:http';
import https from 'node:https';
import { checkHost, guardedLookup, RefusedAddressError } from './ssrf-guard.js';

export interface OutboundOptions {
  /** Allow every address: loopback, private, link-local, metadata, reserved (default false; HERALD_OUTBOUND_ALLOW_PRIVATE_NETWORKS). */
  allowPrivateNetworks?: boolean;
  /** Deadline for the whole exchange, response body included (default 15 s, Knock's fetch timeout). */
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 15_000;
/** Larger responses fail the request; a fetched response becomes run data, which is capped at 10 MB. */
const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

export interface OutboundRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

export interface OutboundResponse {
  status: number;
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

/**
 * Why a request got no answer. `retryable` = worth trying again later (a timeout, a refused
 * or reset connection, a DNS server that did not answer); the rest will fail the same way.
 */
export class OutboundError extends Error {
  constructor(message: string, readonly kind: 'timeout' | 'network' | 'refused_address' | 'dns' | 'too_large', readonly retryable: boolean) {
    super(message);
    this.name = 'OutboundError';
  }
}

const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

export function sendOutbound(req: OutboundRequest, opts: OutboundOptions = {}): Promise<OutboundResponse> {
  const allowPrivate = opts.allowPrivateNetworks ?? false;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  try {
    if (!allowPrivate) checkHost(req.url.hostname);
  } catch (err) {
    return Promise.reject(classify(err as Error, req.url));
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, res?: OutboundResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(classify(err, req.url));
      else resolve(res!);
    };
    const client = req.url.protocol === 'https:' ? https : http;
    const request = client.request(req.url, {
      method: req.method,
      headers: req.body !== undefined ? { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) } : req.headers,
      agent: false,
      ...(allowPrivate ? {} : { lookup: guardedLookup }),
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          finish(new OutboundError(`the response body is larger than ${MAX_RESPONSE_BYTES} bytes`, 'too_large', false));
          request.destroy();
        } else {
          chunks.push(chunk);
        }
      });
      res.on('end', () => finish(null, { status: res.statusCode ?? 0, headers: headersOf(res.headers), body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => finish(err));
    });
    // `finish` only ever runs from I/O callbacks, after this line.
    const timer = setTimeout(() => {
      finish(new OutboundError(`no complete response within ${timeoutMs} ms`, 'timeout', true));
      request.destroy();
    }, timeoutMs);
    request.on('error', (err) => finish(err));
    request.end(req.body);
  });
}

function headersOf(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

function classify(err: Error, url: URL): OutboundError {
  if (err instanceof OutboundError) return err;
  if (err instanceof RefusedAddressError) return new OutboundError(err.message, 'refused_address', false);
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code === 'ENOTFOUND') return new OutboundError(`the host ${url.hostname} was not found`, 'dns', false);
  return new OutboundError(`the request failed: ${err.message}${code && !err.message.includes(code) ? ` (${code})` : ''}`, 'network', RETRYABLE_CODES.has(code));
}
