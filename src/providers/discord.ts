import { createHash } from 'node:crypto';
import { httpCall, verdict, type HttpAnswer } from './http-call.js';
import {
  chatText, incomingWebhookUrl, nonEmptyString, notSent, parseWebhookUrl, sendToConnections, webhookSecrets,
  type ChatConnection, type ChatText,
} from './chat-connections.js';
import type { OutboundMessage, Provider, SendContext, SendResult } from './types.js';

/**
 * Discord chat messages, one post per connection in the recipient's Discord channel data.
 *
 * Channel settings: `bot_token` (for `channel_id` connections), `base_url` (API origin, default
 * `https://discord.com`).
 *
 * - `{incoming_webhook: {url}}`: `POST <url>?wait=true` with `{content}`; Discord answers 200 with
 *   the message object (its `id` is the provider message id; 204 without `wait`).
 * - `{channel_id}`: `POST {base_url}/api/v10/channels/{channel_id}/messages` with
 *   `Authorization: Bot <bot_token>` and `{content, nonce, enforce_nonce: true}`: the nonce is
 *   derived from the message id and the channel, so a retried attempt whose first answer was lost
 *   returns the message already created instead of posting twice.
 *
 * `content` is the markdown text (else the summary), cut to Discord's 2,000 characters; a
 * rendered `json_body` (e.g. `{embeds: [...]}`) is merged into the body. Errors are
 * `{message, code}` JSON: 429 (`retry_after`), 408 and 5xx are retryable; 400 (invalid form
 * body, empty message), 401 (bad token), 403 (missing access), 404 (unknown webhook / channel)
 * permanent.
 *
 * Where addresses come from: an incoming-webhook URL is channel data, which the recipient may set
 * for themselves, so it is posted only through the SSRF-guarded client (net/outbound-http.ts; a
 * private, loopback or metadata address is a permanent failure unless
 * HERALD_OUTBOUND_ALLOW_PRIVATE_NETWORKS is set). `base_url` is operator configuration and
 * trusted; a `channel_id` from channel data only becomes a path segment under it.
 */
interface DiscordSettings {
  bot_token?: string;
  base_url?: string;
}

const DEFAULT_BASE_URL = 'https://discord.com';
export const MAX_CONTENT = 2000;
const USER_AGENT = 'DiscordBot (https://github.com/herald, 1.0)';

/** Cuts `text` to at most `max` UTF-16 units without splitting a character, ending in `…` when cut. */
export function clip(text: string, max = MAX_CONTENT): string {
  if (text.length <= max) return text;
  let out = '';
  for (const ch of text) {
    if (out.length + ch.length > max - 1) break;
    out += ch;
  }
  return `${out}…`;
}

export function discordBody(t: ChatText): Record<string, unknown> {
  const body: Record<string, unknown> = { content: t.text || t.summary || '' };
  if (t.json) Object.assign(body, t.json);
  if (typeof body.content === 'string') body.content = clip(body.content);
  // An embeds-only message needs no content; Discord rejects an empty string next to nothing else.
  if (body.content === '' && t.json) delete body.content;
  return body;
}

function errorOf(body: unknown): string | undefined {
  if (body && typeof body === 'object') {
    const b = body as { message?: unknown; code?: unknown; retry_after?: unknown };
    if (typeof b.message === 'string') {
      return `${b.message}${b.code !== undefined ? ` (code ${String(b.code)})` : ''}${b.retry_after !== undefined ? ` (retry after ${String(b.retry_after)} s)` : ''}`;
    }
  }
  return typeof body === 'string' && body !== '' ? body.slice(0, 200) : undefined;
}

const idOf = (b: unknown) => (b && typeof b === 'object' ? (b as { id?: unknown }).id : undefined);
const judge = (answer: HttpAnswer, fallbackId: string) => verdict(answer, idOf, fallbackId, errorOf);

async function postWebhook(raw: string, body: Record<string, unknown>, context: SendContext): Promise<SendResult> {
  const url = parseWebhookUrl(raw);
  if (!url) return notSent('the connection\'s incoming_webhook.url is not an http(s) URL');
  url.searchParams.set('wait', 'true');
  const answer = await httpCall({
    method: 'POST', url: url.href, urlFrom: 'data', allowPrivateNetworks: context.outbound.allowPrivateNetworks,
    headers: { 'user-agent': USER_AGENT }, body, secretValues: webhookSecrets(raw),
  });
  return judge(answer, context.idempotencyKey);
}

/** Discord nonces are at most 25 characters: a digest of the idempotency key and the channel. */
export function discordNonce(idempotencyKey: string, channelId: string): string {
  return createHash('sha256').update(`${idempotencyKey}:${channelId}`).digest('base64url').slice(0, 25);
}

async function postToChannel(s: DiscordSettings, channelId: string, body: Record<string, unknown>, context: SendContext): Promise<SendResult> {
  let endpoint: URL;
  try { endpoint = new URL(`api/v10/channels/${encodeURIComponent(channelId)}/messages`, (s.base_url ?? DEFAULT_BASE_URL).replace(/\/+$/, '') + '/'); } catch {
    return notSent(`the channel's base_url "${s.base_url}" is not a URL`);
  }
  if (!nonEmptyString(s.bot_token)) {
    return notSent('a Discord channel_id connection needs the channel setting bot_token', { host: endpoint.host, path: endpoint.pathname });
  }
  const answer = await httpCall({
    method: 'POST',
    url: endpoint.href,
    urlFrom: 'settings',
    headers: { authorization: `Bot ${s.bot_token}`, 'user-agent': USER_AGENT },
    body: { ...body, nonce: discordNonce(context.idempotencyKey, channelId), enforce_nonce: true },
    secretValues: [s.bot_token],
  });
  return judge(answer, context.idempotencyKey);
}

export const discordProvider: Provider = {
  name: 'discord',
  serviceName: 'discord',
  async send(message: OutboundMessage, context: SendContext): Promise<SendResult> {
    const s = context.channel.settings as DiscordSettings;
    const body = discordBody(chatText(message));
    return sendToConnections(message, 'Discord', async (connection: ChatConnection) => {
      const webhook = incomingWebhookUrl(connection);
      if (webhook) return postWebhook(webhook, body, context);
      if (nonEmptyString(connection.channel_id)) return postToChannel(s, connection.channel_id, body, context);
      return notSent('the Discord connection has neither incoming_webhook.url nor channel_id');
    });
  },
};
