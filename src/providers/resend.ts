import { httpCall, verdict } from './http-call.js';
import type { CallSummary, OutboundMessage, Provider, SendContext, SendResult } from './types.js';

/**
 * Email through Resend's HTTP API: one `POST {base_url}/emails` per message with
 * `Authorization: Bearer <api_key>`. Channel settings: `api_key` (required), `from` (default
 * sender when the step gave none; the renderer also falls back to `from_address` / `from_name`),
 * `base_url` (default `https://api.resend.com`), `timeout_ms` (default 15 s).
 *
 * The body is `{from, to: [..], cc?, bcc?, reply_to?, subject, html?, text?, tags:
 * [{name: "herald_message_id", value}]}`; the answer's `id` is the provider message id. Tag
 * values may only hold ASCII letters, digits, `_` and `-` (256 at most), so anything else in the
 * message id is replaced by `_`.
 *
 * Every attempt of a message carries `Idempotency-Key: herald-<message id>`. Resend keeps the
 * first answer to a key for 24 hours and gives it back to a repeat without sending again, so a
 * retry after an answer that was lost on the way back does not send a second email.
 *
 * Errors (`{statusCode, name, message}`): 401 (`missing_api_key`, invalid key), 403
 * (`invalid_api_key`, unverified domain), 400/422 (`validation_error`, `invalid_parameter`,
 * `missing_required_field`, …) and 409 `invalid_idempotent_request` (the same key with another
 * body) are permanent, as is any other 4xx; 409 `concurrent_idempotent_requests` (the first
 * request with the key is still in flight), 408, 429 (`rate_limit_exceeded`, quotas), 5xx and no
 * answer are retryable. Missing `api_key` or sender: permanent, without a call.
 */
interface ResendSettings {
  api_key?: string;
  from?: string;
  base_url?: string;
  timeout_ms?: number;
}

const DEFAULT_BASE_URL = 'https://api.resend.com';
/** Resend accepts idempotency keys of 1 to 256 characters. */
const MAX_IDEMPOTENCY_KEY = 256;

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * `a@x.com, "Doe, Jane" <j@x.com>` → two addresses: commas split the list except inside quotes
 * or angle brackets. Arrays pass through (empty entries dropped).
 */
export function addressList(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(addressList);
  if (typeof value !== 'string') return [];
  const out: string[] = [];
  let current = '';
  let quoted = false;
  let angle = false;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    else if (ch === '<' && !quoted) angle = true;
    else if (ch === '>' && !quoted) angle = false;
    if (ch === ',' && !quoted && !angle) {
      out.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  out.push(current);
  return out.map((a) => a.trim()).filter((a) => a !== '');
}

/** A Resend tag value: ASCII letters, numbers, underscores and dashes only, 256 characters at most. */
export function resendTagValue(value: string): string {
  const clean = value.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 256);
  return clean === '' ? '_' : clean;
}

function resendError(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as { name?: unknown; message?: unknown };
  if (b.name === undefined && b.message === undefined) return undefined;
  return `${String(b.name ?? 'error')}: ${String(b.message ?? '')}`;
}

function notSent(request: CallSummary['request'], reason: string): SendResult {
  return { outcome: 'permanent', error: reason, call: { request, response: { status: 0, headers: {}, body: `not sent: ${reason}` } } };
}

export const resendProvider: Provider = {
  name: 'resend',
  serviceName: 'resend',
  async send(message: OutboundMessage, context: SendContext): Promise<SendResult> {
    const s = context.channel.settings as ResendSettings;
    const c = message.content;
    const apiKey = text(s.api_key);
    const from = text(c.from) ?? text(s.from);
    const url = `${(text(s.base_url) ?? DEFAULT_BASE_URL).replace(/\/+$/, '')}/emails`;
    const cc = addressList(c.cc);
    const bcc = addressList(c.bcc);
    const replyTo = addressList(c.reply_to);
    const body: Record<string, unknown> = {
      from: from ?? '',
      to: addressList(c.to),
      ...(cc.length ? { cc } : {}),
      ...(bcc.length ? { bcc } : {}),
      ...(replyTo.length ? { reply_to: replyTo } : {}),
      subject: typeof c.subject_line === 'string' ? c.subject_line : '',
      ...(text(c.html_body) ? { html: c.html_body } : {}),
      ...(text(c.text_body) ? { text: c.text_body } : {}),
      tags: [{ name: 'herald_message_id', value: resendTagValue(message.id) }],
    };
    const idempotencyKey = context.idempotencyKey.slice(0, MAX_IDEMPOTENCY_KEY);
    const headers = { Authorization: `Bearer ${apiKey ?? ''}`, 'Content-Type': 'application/json', 'Idempotency-Key': idempotencyKey };
    const target = new URL(url);
    const planned: CallSummary['request'] = {
      method: 'POST', host: target.host, path: target.pathname, query: null, headers: { ...headers, Authorization: '[REDACTED]' }, body,
    };
    if (!apiKey) return notSent(planned, 'the channel has no Resend api_key');
    if (!from) return notSent(planned, 'no from address (channel settings.from / from_address or the step\'s channel_overrides.from_address)');

    const answer = await httpCall({
      method: 'POST',
      url,
      urlFrom: 'settings',
      headers,
      body,
      secretValues: [apiKey],
      timeoutMs: typeof s.timeout_ms === 'number' ? s.timeout_ms : undefined,
    });
    const result = verdict(answer, (b) => (b as { id?: unknown } | null)?.id, message.id, resendError);
    // Another attempt holding the same key is still being processed: its answer will be given to a later retry.
    if (answer.status === 409 && (answer.body as { name?: unknown } | null)?.name === 'concurrent_idempotent_requests' && result.outcome === 'permanent') {
      return { ...result, outcome: 'retryable' };
    }
    return result;
  },
};
