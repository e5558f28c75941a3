import { httpCall, isRetryableStatus, verdict, type HttpAnswer } from './http-call.js';
import {
  chatText, incomingWebhookUrl, nonEmptyString, notSent, parseWebhookUrl, sendToConnections, webhookSecrets,
  type ChatConnection, type ChatText,
} from './chat-connections.js';
import type { OutboundMessage, Provider, SendContext, SendResult } from './types.js';

/**
 * Slack chat messages, one post per connection in the recipient's Slack channel data.
 *
 * Channel settings: `bot_token` (the workspace bot token, `xoxb-…`, used when neither the
 * connection nor the channel data carries an `access_token`), `base_url` (Web API origin,
 * default `https://slack.com`).
 *
 * - A connection `{incoming_webhook: {url}}` is a `POST` of `{text, blocks?}` to that URL; Slack
 *   answers `ok` (200) or an error word as text (`invalid_payload`, `no_text` 400, `invalid_token`
 *   403, `no_service` / `channel_not_found` 404, `channel_is_archived` 410): 429 and 5xx are
 *   retryable, any other status permanent.
 * - A connection with `channel_id` (or `user_id`, the app's DM with that user) is
 *   `POST {base_url}/api/chat.postMessage` with `Authorization: Bearer <token>` and
 *   `{channel, text, blocks?}`, the token being the connection's `access_token`, else the channel
 *   data's `token.access_token`, else `settings.bot_token`. Slack answers HTTP 200 with
 *   `{ok: true, channel, ts}` (the provider message id is `channel:ts`) or `{ok: false, error}`:
 *   `ratelimited` (also HTTP 429 with `retry-after`), `internal_error`, `fatal_error`,
 *   `service_unavailable` and `request_timeout` are retryable; every other error
 *   (`invalid_auth`, `not_authed`, `channel_not_found`, `is_archived`, `account_inactive`, …) is
 *   permanent.
 *
 * The text is the markdown block (Slack mrkdwn); a rendered `json_body` (e.g. `{blocks: [...]}`)
 * is merged into the body, and when it sends blocks or attachments the summary (else the
 * markdown) becomes `text`, the notification fallback. Webhook URLs and tokens are secrets: the
 * delivery log never shows them.
 *
 * Where addresses come from: an incoming-webhook URL is channel data, which the recipient may set
 * for themselves (a browser with a user token), so it is posted only through the SSRF-guarded
 * client (net/outbound-http.ts; a private, loopback or metadata address is a permanent failure
 * unless HERALD_OUTBOUND_ALLOW_PRIVATE_NETWORKS is set). `base_url` is operator configuration and
 * trusted: it may name a private proxy. Tokens from channel data only ever go to `base_url`.
 */
interface SlackSettings {
  bot_token?: string;
  base_url?: string;
}

const DEFAULT_BASE_URL = 'https://slack.com';
/** `{ok: false, error}` codes worth another attempt; every other one is final. */
const RETRYABLE_ERRORS = new Set(['ratelimited', 'rate_limited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

/** `{text, blocks?, …}`: the markdown text, with `json_content` merged over it. */
export function slackBody(t: ChatText): Record<string, unknown> {
  const body: Record<string, unknown> = { text: t.text || t.summary || '' };
  if (t.json) {
    Object.assign(body, t.json);
    const rich = Array.isArray(t.json.blocks) || Array.isArray(t.json.attachments);
    if (!nonEmptyString(t.json.text)) body.text = rich ? t.summary ?? t.text : t.text || t.summary || '';
  }
  return body;
}

function channelDataToken(message: OutboundMessage): string | null {
  const token = message.content.token as { access_token?: unknown } | undefined;
  return token && nonEmptyString(token.access_token) ? token.access_token : null;
}

async function postWebhook(raw: string, body: Record<string, unknown>, context: SendContext): Promise<SendResult> {
  const url = parseWebhookUrl(raw);
  if (!url) return notSent('the connection\'s incoming_webhook.url is not an http(s) URL');
  const answer = await httpCall({
    method: 'POST', url: url.href, urlFrom: 'data', allowPrivateNetworks: context.outbound.allowPrivateNetworks, body, secretValues: webhookSecrets(raw),
  });
  return verdict(answer, () => undefined, context.idempotencyKey, (b) => (typeof b === 'string' && b !== '' ? b.slice(0, 200) : undefined));
}

function webApiVerdict(answer: HttpAnswer, channel: string): SendResult {
  const body = answer.body as { ok?: unknown; error?: unknown; ts?: unknown; channel?: unknown } | null;
  if (answer.status === 429) {
    const wait = answer.headers['retry-after'];
    return { outcome: 'retryable', error: `HTTP 429: ratelimited${wait ? ` (retry after ${wait} s)` : ''}`, call: answer.call };
  }
  if (answer.status < 200 || answer.status >= 300) return verdict(answer, () => undefined, '', (b) => (b as { error?: string } | null)?.error);
  if (!body || typeof body !== 'object') {
    return { outcome: 'retryable', error: `unexpected answer from chat.postMessage: ${String(answer.body).slice(0, 200)}`, call: answer.call };
  }
  if (body.ok === true) {
    const ch = typeof body.channel === 'string' ? body.channel : channel;
    return { outcome: 'sent', providerMessageId: `${ch}:${String(body.ts ?? '')}`, call: answer.call };
  }
  const code = typeof body.error === 'string' ? body.error : 'unknown_error';
  return { outcome: RETRYABLE_ERRORS.has(code) || isRetryableStatus(answer.status) ? 'retryable' : 'permanent', error: `chat.postMessage: ${code}`, call: answer.call };
}

async function postMessage(s: SlackSettings, token: string | null, channel: string, body: Record<string, unknown>): Promise<SendResult> {
  let endpoint: URL;
  try { endpoint = new URL('/api/chat.postMessage', (s.base_url ?? DEFAULT_BASE_URL).replace(/\/+$/, '') + '/'); } catch {
    return notSent(`the channel's base_url "${s.base_url}" is not a URL`);
  }
  if (!token) {
    return notSent('no Slack token: the connection has no access_token, the channel data no token.access_token, and the channel settings no bot_token',
      { host: endpoint.host, path: endpoint.pathname });
  }
  // The connection decides where the message goes, whatever json_body says.
  const answer = await httpCall({
    method: 'POST',
    url: endpoint.href,
    urlFrom: 'settings',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8' },
    body: { ...body, channel },
    secretValues: [token],
  });
  return webApiVerdict(answer, channel);
}

export const slackProvider: Provider = {
  name: 'slack',
  serviceName: 'slack',
  async send(message: OutboundMessage, context: SendContext): Promise<SendResult> {
    const s = context.channel.settings as SlackSettings;
    const body = slackBody(chatText(message));
    const sharedToken = channelDataToken(message) ?? (nonEmptyString(s.bot_token) ? s.bot_token : null);
    return sendToConnections(message, 'Slack', (connection: ChatConnection) => {
      const webhook = incomingWebhookUrl(connection);
      if (webhook) return postWebhook(webhook, body, context);
      const channel = nonEmptyString(connection.channel_id) ? connection.channel_id : nonEmptyString(connection.user_id) ? connection.user_id : null;
      if (!channel) return Promise.resolve(notSent('the Slack connection has neither incoming_webhook.url nor channel_id / user_id'));
      const token = nonEmptyString(connection.access_token) ? connection.access_token : sharedToken;
      return postMessage(s, token, channel, body);
    });
  },
};
