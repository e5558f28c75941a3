import { httpCall, verdict } from './http-call.js';
import type { CallSummary, OutboundMessage, Provider, SendContext, SendResult } from './types.js';

/**
 * Email through Postmark's HTTP API: one `POST {base_url}/email` per message, authenticated by
 * the `X-Postmark-Server-Token` header. Channel settings: `server_token` (required),
 * `message_stream` (default `outbound`), `from` (default sender when the step gave none; the
 * renderer also falls back to `from_address` / `from_name`), `base_url` (default
 * `https://api.postmarkapp.com`), `timeout_ms` (default 15 s).
 *
 * The body is Postmark's `{From, To, Cc, Bcc, ReplyTo, Subject, HtmlBody, TextBody,
 * MessageStream, Metadata: {herald_message_id}}`; the answer's `MessageID` is the provider
 * message id, and the metadata lets Postmark's bounce and delivery webhooks name Herald's message.
 *
 * Postmark has NO idempotency key: a retry after an answer that was lost on the way back (the
 * email was accepted but Herald never heard so) sends the email a second time. Herald only
 * retries when no answer, a 429 or a 5xx came, which keeps that window small but not empty.
 *
 * Errors: 422 `{ErrorCode, Message}` (300 invalid email request, 406 inactive recipient, 400/401
 * sender signature problems, …) and 401 (bad server token) are permanent, as is any other 4xx;
 * 408, 429, 5xx (500, 503) and no answer are retryable. A 200 whose `ErrorCode` is not 0 is
 * permanent. Missing `server_token` or sender: permanent, without a call.
 */
interface PostmarkSettings {
  server_token?: string;
  message_stream?: string;
  from?: string;
  base_url?: string;
  timeout_ms?: number;
}

const DEFAULT_BASE_URL = 'https://api.postmarkapp.com';
const TOKEN_HEADER = 'X-Postmark-Server-Token';

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The log entry of a message that was never sent (bad settings): the request it would have been. */
function notSent(call: CallSummary['request'], reason: string): SendResult {
  return { outcome: 'permanent', error: reason, call: { request: call, response: { status: 0, headers: {}, body: `not sent: ${reason}` } } };
}

function postmarkError(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as { ErrorCode?: unknown; Message?: unknown };
  if (b.ErrorCode === undefined && b.Message === undefined) return undefined;
  return `Postmark error ${String(b.ErrorCode)}: ${String(b.Message ?? '')}`;
}

export const postmarkProvider: Provider = {
  name: 'postmark',
  serviceName: 'postmark',
  async send(message: OutboundMessage, context: SendContext): Promise<SendResult> {
    const s = context.channel.settings as PostmarkSettings;
    const c = message.content;
    const token = text(s.server_token);
    const from = text(c.from) ?? text(s.from);
    const url = `${(text(s.base_url) ?? DEFAULT_BASE_URL).replace(/\/+$/, '')}/email`;
    const body: Record<string, unknown> = {
      From: from ?? '',
      To: text(c.to) ?? '',
      ...(text(c.cc) ? { Cc: c.cc } : {}),
      ...(text(c.bcc) ? { Bcc: c.bcc } : {}),
      ...(text(c.reply_to) ? { ReplyTo: c.reply_to } : {}),
      Subject: typeof c.subject_line === 'string' ? c.subject_line : '',
      ...(text(c.html_body) ? { HtmlBody: c.html_body } : {}),
      ...(text(c.text_body) ? { TextBody: c.text_body } : {}),
      MessageStream: text(s.message_stream) ?? 'outbound',
      Metadata: { herald_message_id: message.id },
    };
    const target = new URL(url);
    const planned: CallSummary['request'] = {
      method: 'POST', host: target.host, path: target.pathname, query: null,
      headers: { [TOKEN_HEADER]: '[REDACTED]', Accept: 'application/json', 'Content-Type': 'application/json' }, body,
    };
    if (!token) return notSent(planned, 'the channel has no Postmark server_token');
    if (!from) return notSent(planned, 'no from address (channel settings.from / from_address or the step\'s channel_overrides.from_address)');

    const answer = await httpCall({
      method: 'POST',
      url,
      urlFrom: 'settings',
      headers: { [TOKEN_HEADER]: token, Accept: 'application/json', 'Content-Type': 'application/json' },
      body,
      secretHeaders: [TOKEN_HEADER],
      secretValues: [token],
      timeoutMs: typeof s.timeout_ms === 'number' ? s.timeout_ms : undefined,
    });
    const result = verdict(answer, (b) => (b as { MessageID?: unknown } | null)?.MessageID, message.id, postmarkError);
    // Postmark reports some refusals inside a 200; ErrorCode 0 is the only success.
    const code = (answer.body as { ErrorCode?: unknown } | null)?.ErrorCode;
    if (result.outcome === 'sent' && typeof code === 'number' && code !== 0) {
      return { outcome: 'permanent', error: `HTTP ${answer.status}: ${postmarkError(answer.body)}`, call: answer.call };
    }
    return result;
  },
};
