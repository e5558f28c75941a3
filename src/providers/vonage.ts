import { httpCall, notSent, verdict } from './http-call.js';
import type { OutboundMessage, Provider, SendContext, SendResult } from './types.js';

/**
 * SMS through the Vonage Messages API: `POST {base_url}/v1/messages` with JSON
 * `{message_type: "text", channel: "sms", to, from, text, client_ref}`, HTTP Basic auth.
 *
 * Channel settings: `api_key` and `api_secret` (required; JWT auth is not supported); `from`
 * (alias `phone_number`: a number, or an alphanumeric sender id); `webhook_url` (optional, where
 * Vonage posts this message's status updates); `base_url` (default `https://api.nexmo.com`).
 *
 * Numbers go on the wire in E.164 without the leading `+` (separators dropped); `client_ref`
 * is Herald's message id, so status webhooks and Vonage's records point back at the message
 * (the Messages API has no idempotency key). A 202 `{message_uuid}` is sent, the uuid being the
 * provider's message id. Errors are RFC 7807 `{type, title, detail, instance}`: 408, 429 and 5xx
 * answers, timeouts and network failures are retryable; any other 4xx (401 bad credentials,
 * 402 low balance, 422 invalid parameters, …) is permanent, as are missing settings. The API
 * secret never reaches the delivery log.
 */
interface VonageSettings {
  api_key?: unknown;
  api_secret?: unknown;
  from?: unknown;
  phone_number?: unknown;
  webhook_url?: unknown;
  base_url?: unknown;
}

const DEFAULT_BASE_URL = 'https://api.nexmo.com';

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);

/** `+44 7700-900 123` → `447700900123`; anything that is not a phone number is left as it is. */
export function vonageNumber(value: string): string {
  const v = value.trim();
  if (!/^\+?[\d\s().-]+$/.test(v)) return v;
  return v.replace(/[\s().-]/g, '').replace(/^\+/, '');
}

function problem(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const { title, detail, invalid_parameters: invalid } = body as { title?: unknown; detail?: unknown; invalid_parameters?: unknown };
  const parts = [title, detail].filter((p): p is string => typeof p === 'string' && p !== '');
  if (Array.isArray(invalid)) {
    const names = invalid.map((p) => {
      const { name, reason } = (p ?? {}) as { name?: unknown; reason?: unknown };
      return typeof name === 'string' ? (typeof reason === 'string' ? `${name}: ${reason}` : name) : null;
    }).filter((p): p is string => p !== null);
    if (names.length > 0) parts.push(`(${names.join('; ')})`);
  }
  return parts.length > 0 ? parts.join(' ') : undefined;
}

export const vonageProvider: Provider = {
  name: 'vonage',
  serviceName: 'vonage',
  async send(message: OutboundMessage, context: SendContext): Promise<SendResult> {
    const s = context.channel.settings as VonageSettings;
    const url = `${(str(s.base_url) ?? DEFAULT_BASE_URL).replace(/\/+$/, '')}/v1/messages`;
    const apiKey = str(s.api_key);
    const apiSecret = str(s.api_secret);
    if (!apiKey || !apiSecret) return notSent(url, 'the vonage channel has no api_key and api_secret');
    const from = str(s.from) ?? str(s.phone_number);
    if (!from) return notSent(url, 'the vonage channel has no from (phone_number or sender id)');

    const body: Record<string, unknown> = {
      message_type: 'text',
      channel: 'sms',
      to: vonageNumber(typeof message.content.to === 'string' ? message.content.to : ''),
      from: vonageNumber(from),
      text: typeof message.content.body === 'string' ? message.content.body : '',
      client_ref: message.id,
    };
    const webhook = str(s.webhook_url);
    if (webhook) body.webhook_url = webhook;

    const answer = await httpCall({
      method: 'POST',
      url,
      urlFrom: 'settings',
      headers: {
        authorization: `Basic ${Buffer.from(`${apiKey}:${apiSecret}`).toString('base64')}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body,
      secretValues: [apiSecret],
    });
    return verdict(answer, (b) => (b as { message_uuid?: unknown } | null)?.message_uuid, context.idempotencyKey, problem);
  },
};
