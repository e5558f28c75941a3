import { httpCall, notSent, verdict } from './http-call.js';
import type { OutboundMessage, Provider, SendContext, SendResult } from './types.js';

/**
 * SMS through Twilio Programmable Messaging: `POST {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json`,
 * form-encoded `To`, `From` or `MessagingServiceSid`, `Body` and optionally `StatusCallback`.
 *
 * Channel settings: `account_sid` (required, `AC…`); `auth_token`, or `api_key_sid` +
 * `api_key_secret` (HTTP Basic credentials; an API key wins when both are given); `from` (alias
 * `phone_number`) and/or `messaging_service_sid` (at least one); `status_callback` (URL Twilio
 * posts status changes to); `base_url` (default `https://api.twilio.com`).
 *
 * The recipient is `content.to`, the text `content.body`. A 201 answer is sent, with the
 * message `sid` as the provider's message id. Errors come as `{code, message, more_info, status}`:
 * 408, 429 (20429) and 5xx answers, timeouts and network failures are retryable; any other 4xx
 * (21211 invalid To, 21606 bad From, 20003 bad credentials, …) is permanent, as are missing
 * settings. Twilio honours no idempotency key on message creation, so none is sent. The auth
 * token and the API key secret never reach the delivery log.
 */
interface TwilioSettings {
  account_sid?: unknown;
  auth_token?: unknown;
  api_key_sid?: unknown;
  api_key_secret?: unknown;
  from?: unknown;
  phone_number?: unknown;
  messaging_service_sid?: unknown;
  status_callback?: unknown;
  base_url?: unknown;
}

const DEFAULT_BASE_URL = 'https://api.twilio.com';

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);

function twilioError(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const { code, message } = body as { code?: unknown; message?: unknown };
  if (typeof message !== 'string') return undefined;
  return code !== undefined && code !== null ? `Twilio error ${String(code)}: ${message}` : message;
}

export const twilioProvider: Provider = {
  name: 'twilio',
  serviceName: 'twilio',
  async send(message: OutboundMessage, context: SendContext): Promise<SendResult> {
    const s = context.channel.settings as TwilioSettings;
    const baseUrl = (str(s.base_url) ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    const accountSid = str(s.account_sid);
    const url = `${baseUrl}/2010-04-01/Accounts/${encodeURIComponent(accountSid ?? '')}/Messages.json`;
    if (!accountSid) return notSent(url, 'the twilio channel has no account_sid');

    const keySid = str(s.api_key_sid);
    const keySecret = str(s.api_key_secret);
    const authToken = str(s.auth_token);
    let user: string;
    let secret: string;
    if (keySid && keySecret) [user, secret] = [keySid, keySecret];
    else if (authToken) [user, secret] = [accountSid, authToken];
    else return notSent(url, 'the twilio channel has no auth_token (or api_key_sid and api_key_secret)');

    const from = str(s.from) ?? str(s.phone_number);
    const service = str(s.messaging_service_sid);
    if (!from && !service) return notSent(url, 'the twilio channel has no from (phone_number) or messaging_service_sid');

    const form = new URLSearchParams();
    form.set('To', typeof message.content.to === 'string' ? message.content.to : '');
    if (from) form.set('From', from);
    if (service) form.set('MessagingServiceSid', service);
    form.set('Body', typeof message.content.body === 'string' ? message.content.body : '');
    const callback = str(s.status_callback);
    if (callback) form.set('StatusCallback', callback);

    const answer = await httpCall({
      method: 'POST',
      url,
      urlFrom: 'settings',
      headers: {
        authorization: `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: form,
      secretValues: [authToken, keySecret],
    });
    return verdict(answer, (b) => (b as { sid?: unknown } | null)?.sid, context.idempotencyKey, twilioError);
  },
};
