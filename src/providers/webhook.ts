import { OutboundError, sendOutbound } from '../net/outbound-http.js';
import { inClientSpan } from '../telemetry/http-client.js';
import { ALLOW_PRIVATE_HINT } from '../net/ssrf-guard.js';
import { isRetryableStatus } from './http-call.js';
import { signature } from '../engine/steps/fetch-request.js';
import { toReference } from '../domain/recipients.js';
import type { CallSummary, OutboundMessage, Provider, SendContext, SendResult } from './types.js';

/**
 * The webhook (`http`) channel: sends the request the step's template rendered
 * (`{method, url, headers, query_params, body}`, see templates/webhook.ts) to the URL it names.
 *
 * Channel settings (all optional; the URL comes from the template, so there is no `base_url`):
 * - `signing_key`: when set, every request carries `x-webhook-signature: t=<unix ms>,s=<base64
 *   HMAC-SHA256(signing_key, "<t>.<body>")>` (Knock's webhook channel format; a request without
 *   a body signs `"<t>."`). Receivers recompute it over the raw body and compare.
 * - `headers`: `{name: value}` sent on every request, e.g. a shared `authorization`. Their values
 *   are treated as secrets: shown as `[REDACTED]` in delivery logs and scrubbed from logged bodies.
 *   A header of the same name in the template wins.
 * - `timeout_ms`: the deadline for the whole exchange (default 15 s).
 * - `allow_private_networks`: let this channel's URLs reach loopback, private, link-local and
 *   metadata addresses (HERALD_OUTBOUND_ALLOW_PRIVATE_NETWORKS allows them for every channel).
 *   Off by default: the URL is a template over trigger data, so it goes through the SSRF-guarded
 *   client like `http_fetch` steps (net/outbound-http.ts: every resolved address is checked and
 *   the connection goes to the checked address; redirects are never followed).
 *
 * Headers sent: the channel's `headers`, then the template's (names lower-cased),
 * `content-type: application/json` when there is a body and none was given,
 * `idempotency-key: herald-<message id>` (the same on every attempt, so a receiver can drop a
 * repeat), `user-agent`, and the signature.
 *
 * The body is the template's `body` as rendered. A template without one sends, for POST, PUT and
 * PATCH, the default JSON payload describing the message (GET and DELETE send no body):
 * `{message_id, idempotency_key, channel: {id, key, type}, recipient, attempt}` where `recipient`
 * is Knock's RecipientReference (a user id, or `{id, collection}` for an object), plus
 * `workflow`, `tenant` and `data` (the run's data as the step saw it). Write a template `body` to send anything else.
 *
 * Outcome: a 2xx answer is `delivered` (Knock: webhook messages are delivered on 2xx). 408, 429,
 * 5xx, timeouts and refused/reset connections are retryable. Every other status (3xx included:
 * redirects are not followed), a refused private address, an unknown host, a bad URL or method
 * are permanent.
 */
interface WebhookSettings {
  signing_key?: string;
  headers?: Record<string, unknown>;
  timeout_ms?: number;
  allow_private_networks?: boolean;
}

export const SIGNATURE_HEADER = 'x-webhook-signature';
const METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']);
const BODYLESS_DEFAULT = new Set(['GET', 'DELETE']);
/** Always redacted in the log, whoever set them. */
const SECRET_HEADER_NAMES = ['authorization', 'proxy-authorization', 'cookie', 'x-api-key'];
const REDACTED = '[REDACTED]';
const MAX_LOGGED_BODY = 8_192;

/** `{name: value}` with string values; header names lower-cased (query parameter names keep their case). */
function stringRecord(value: unknown, lowerCase = true): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.trim() === '' || v === undefined || v === null) continue;
    out[lowerCase ? k.trim().toLowerCase() : k.trim()] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

function scrub(value: string, secrets: string[]): string {
  let out = value;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join(REDACTED);
  return out;
}

/** A logged body: JSON is shown parsed (so logs read like the request), anything else as (truncated) text. */
function loggedBody(raw: string | undefined, secrets: string[]): string | Record<string, unknown> {
  if (raw === undefined || raw === '') return '';
  const text = scrub(raw, secrets);
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch { /* not JSON */ }
  return text.slice(0, MAX_LOGGED_BODY);
}

/** The default JSON payload of a template without a body (see the module comment). */
export function defaultPayload(message: OutboundMessage, context: SendContext): Record<string, unknown> {
  return {
    message_id: message.id,
    idempotency_key: context.idempotencyKey,
    ...(message.workflow !== undefined ? { workflow: message.workflow } : {}),
    channel: { id: context.channel.id, key: context.channel.key, type: context.channel.type },
    recipient: toReference(message.recipient),
    ...(message.tenant !== undefined ? { tenant: message.tenant } : {}),
    ...(message.data !== undefined ? { data: message.data } : {}),
    attempt: context.attempt,
  };
}

export const webhookProvider: Provider = {
  name: 'webhook',
  serviceName: 'webhook',
  async send(message: OutboundMessage, context: SendContext): Promise<SendResult> {
    const s = context.channel.settings as WebhookSettings;
    const c = message.content;
    const method = (typeof c.method === 'string' && c.method !== '' ? c.method : 'POST').toUpperCase();
    const rawUrl = typeof c.url === 'string' ? c.url.trim() : '';
    const channelHeaders = stringRecord(s.headers);
    const signingKey = typeof s.signing_key === 'string' && s.signing_key !== '' ? s.signing_key : null;
    const secrets = [...Object.values(channelHeaders), ...(signingKey ? [signingKey] : [])];
    const hidden = new Set([...SECRET_HEADER_NAMES, ...Object.keys(channelHeaders)]);

    let url: URL | null = null;
    try { url = new URL(rawUrl); } catch { /* reported below */ }
    if (url) for (const [k, v] of Object.entries(stringRecord(c.query_params, false))) url.searchParams.append(k, v);

    let body: string | undefined;
    if (typeof c.body === 'string' && c.body.trim() !== '') body = c.body;
    else if (!BODYLESS_DEFAULT.has(method)) body = JSON.stringify(defaultPayload(message, context));

    const headers: Record<string, string> = {
      'user-agent': 'Herald (webhook channel)',
      ...channelHeaders,
      ...stringRecord(c.headers),
    };
    if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
    if (headers['idempotency-key'] === undefined) headers['idempotency-key'] = context.idempotencyKey;
    if (signingKey) headers[SIGNATURE_HEADER] = signature(signingKey, Date.now(), body ?? '');

    const request: CallSummary['request'] = {
      method: (METHODS.has(method) ? method : 'POST') as CallSummary['request']['method'],
      host: url?.host ?? '',
      path: url ? scrub(url.pathname, secrets) : scrub(rawUrl, secrets),
      query: url?.search ? scrub(url.search.slice(1), secrets) : null,
      headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, hidden.has(k) ? REDACTED : scrub(v, secrets)])),
      body: loggedBody(body, secrets),
    };
    const fail = (reason: string, retryable = false): SendResult => ({
      outcome: retryable ? 'retryable' : 'permanent',
      error: reason,
      call: { request, response: { status: 0, headers: {}, body: `${retryable ? 'no response' : 'not sent'}: ${reason}` } },
    });
    if (!url) return fail(rawUrl === '' ? 'the webhook has no url' : `"${rawUrl.slice(0, 200)}" is not a valid URL`);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail(`the URL scheme ${url.protocol} is not http or https`);
    if (url.username || url.password) return fail('credentials in the URL are not allowed; send them in a header');
    if (!METHODS.has(method)) return fail(`method "${method}" is not one of GET, POST, PUT, DELETE, PATCH`);

    try {
      const target = url;
      // A client span when tracing is on: the receiver gets its `traceparent` (not in the
      // delivery log, whose request summary was made above).
      const res = await inClientSpan({ method, url: target, headers, path: request.path }, () => sendOutbound({ method, url: target, headers, body }, {
        allowPrivateNetworks: context.outbound.allowPrivateNetworks || s.allow_private_networks === true,
        timeoutMs: typeof s.timeout_ms === 'number' && s.timeout_ms > 0 ? s.timeout_ms : undefined,
      }), (answer) => ({ status: answer.status }));
      const call: CallSummary = { request, response: { status: res.status, headers: {}, body: loggedBody(res.body, secrets) } };
      if (res.status >= 200 && res.status < 300) return { outcome: 'sent', status: 'delivered', providerMessageId: message.id, call };
      const error = `HTTP ${res.status}: ${scrub(res.body, secrets).slice(0, 200)}`;
      return { outcome: isRetryableStatus(res.status) ? 'retryable' : 'permanent', error, call };
    } catch (err) {
      if (err instanceof OutboundError) {
        const reason = err.message.replace(ALLOW_PRIVATE_HINT, `${ALLOW_PRIVATE_HINT}, or the channel setting allow_private_networks for this channel`);
        return {
          outcome: err.retryable ? 'retryable' : 'permanent',
          error: reason,
          call: { request, response: { status: 0, headers: {}, body: `${err.kind === 'refused_address' ? 'not sent' : 'no response'}: ${reason}` } },
        };
      }
      return fail(`the request failed: ${(err as Error).message}`, true);
    }
  },
};
