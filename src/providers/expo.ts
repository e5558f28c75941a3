import { httpCall, verdict } from './http-call.js';
import { combineTokenOutcomes, contentTokens, settingsError, type TokenOutcome } from './push-tokens.js';
import type { CallSummary, OutboundMessage, Provider, SendContext, SendResult } from './types.js';

/**
 * Push through Expo's push service. Channel settings:
 * - `access_token`: optional; required by projects with enhanced push security (sent as
 *   `Authorization: Bearer`);
 * - `base_url` (default `https://exp.host`).
 *
 * One `POST /--/api/v2/push/send` with a JSON array of messages, one per token (Expo takes up to
 * 100 a request, so more tokens make more requests): `content` deliveries carry `title`, `body`,
 * `data` and the default sound, `silent` ones only `data` with `_contentAvailable`. Expo answers
 * with one ticket per message, in order.
 *
 * Errors: a ticket `DeviceNotRegistered` marks its token invalid (removed from the channel
 * data), `MessageRateExceeded` is retryable, any other ticket error permanent. For the request
 * as a whole: no answer, 408, 429 and 5xx are retryable, any other non-2xx status permanent.
 */
const DEFAULT_BASE_URL = 'https://exp.host';
const PER_REQUEST = 100;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

interface Ticket { status?: string; id?: string; message?: string; details?: { error?: string } }

function expoMessage(content: Record<string, unknown>, to: string): Record<string, unknown> {
  const data = content.data && typeof content.data === 'object' && !Array.isArray(content.data) ? content.data : {};
  if (content.delivery_type === 'silent') return { to, data, _contentAvailable: true };
  return {
    to,
    title: typeof content.title === 'string' ? content.title : '',
    body: typeof content.body === 'string' ? content.body : '',
    data,
    sound: 'default',
  };
}

function ticketOutcome(token: string, ticket: Ticket | undefined): TokenOutcome {
  if (!ticket || typeof ticket !== 'object') return { token, kind: 'permanent', error: 'Expo answered without a ticket for this token' };
  if (ticket.status === 'ok') return { token, kind: 'sent', id: typeof ticket.id === 'string' ? ticket.id : token };
  const code = ticket.details?.error;
  const error = [code, ticket.message].filter((x) => typeof x === 'string' && x !== '').join(': ') || 'ticket status error';
  if (code === 'DeviceNotRegistered') return { token, kind: 'invalid', error };
  return { token, kind: code === 'MessageRateExceeded' ? 'retryable' : 'permanent', error };
}

/** Expo's request-level errors: `{errors: [{code, message}]}`. */
function errorsOf(body: unknown): string | undefined {
  const errors = (body as { errors?: { code?: string; message?: string }[] } | null)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  return errors.map((e) => [e?.code, e?.message].filter(Boolean).join(': ')).join('; ');
}

export const expoProvider: Provider = {
  name: 'expo',
  serviceName: 'expo',
  async send(message: OutboundMessage, context: SendContext): Promise<SendResult> {
    const s = context.channel.settings;
    const url = `${(str(s.base_url) ?? DEFAULT_BASE_URL).replace(/\/+$/, '')}/--/api/v2/push/send`;
    if (s.access_token !== undefined && s.access_token !== null && typeof s.access_token !== 'string') {
      return settingsError(url, 'expo: setting "access_token" must be a string');
    }
    const accessToken = str(s.access_token);
    const list = contentTokens(message.content);
    if (list.length === 0) return settingsError(url, 'expo: the message has no push tokens');

    const outcomes: TokenOutcome[] = [];
    const calls: CallSummary[] = [];
    for (let i = 0; i < list.length; i += PER_REQUEST) {
      const chunk = list.slice(i, i + PER_REQUEST);
      const answer = await httpCall({
        method: 'POST',
        url,
        urlFrom: 'settings',
        headers: {
          accept: 'application/json',
          'content-type': 'application/json',
          ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
        },
        body: chunk.map((to) => expoMessage(message.content, to)),
        secretValues: [accessToken],
      });
      calls.push(answer.call);
      const tickets = (answer.body as { data?: unknown } | null)?.data;
      if (answer.status >= 200 && answer.status < 300 && Array.isArray(tickets)) {
        chunk.forEach((token, n) => outcomes.push(ticketOutcome(token, tickets[n] as Ticket | undefined)));
        continue;
      }
      const v = verdict(answer, () => undefined, message.id, errorsOf);
      const failure = v.outcome === 'sent'
        ? { kind: 'permanent' as const, error: 'Expo answered without tickets' }
        : { kind: v.outcome, error: v.error };
      for (const token of chunk) outcomes.push({ token, ...failure });
    }
    return combineTokenOutcomes(outcomes, calls, url);
  },
};
