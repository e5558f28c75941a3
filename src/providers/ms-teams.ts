import { httpCall, isRetryableStatus, verdict } from './http-call.js';
import {
  chatText, incomingWebhookUrl, nonEmptyString, notSent, parseWebhookUrl, sendToConnections, webhookSecrets,
  type ChatConnection, type ChatText,
} from './chat-connections.js';
import type { OutboundMessage, Provider, SendContext, SendResult } from './types.js';

/**
 * Microsoft Teams chat messages through incoming webhooks, one post per connection
 * `{incoming_webhook: {url}}` in the recipient's Teams channel data. No channel settings are
 * needed (the webhook URL is the credential); `base_url` does not apply.
 *
 * The body is an Adaptive Card message:
 * `{type: "message", attachments: [{contentType: "application/vnd.microsoft.card.adaptive",
 * content: {type: "AdaptiveCard", version: "1.4", body: [{type: "TextBlock", text, wrap: true}]}}]}`
 * with the markdown text (else the summary). A rendered `json_body` replaces the card's content;
 * when it already is a whole message (`type: "message"`) or a legacy `MessageCard` it is sent as is.
 *
 * Teams answers 2xx (`1` from Office 365 connectors, 202 from Workflows webhooks) when it took
 * the message. A connector that answers 200 with `Webhook message delivery failed with error: …
 * HTTP error 429 …` failed all the same: retryable for 429/5xx inside, permanent otherwise.
 * 408, 429 and 5xx are retryable, other statuses (400 bad payload, 404/410 removed webhook)
 * permanent. Bot Framework connections (`ms_teams_channel_id` / `ms_teams_user_id` without a
 * webhook) are not supported: a permanent failure for that connection.
 *
 * The webhook URL is channel data, which the recipient may set for themselves, so it is posted
 * only through the SSRF-guarded client (net/outbound-http.ts): a private, loopback or metadata
 * address is a permanent failure unless HERALD_OUTBOUND_ALLOW_PRIVATE_NETWORKS is set.
 */
const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';

export function teamsBody(t: ChatText): Record<string, unknown> {
  const json = t.json;
  if (json && (json.type === 'message' || json['@type'] === 'MessageCard')) return json;
  const content = json ?? {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.4',
    body: [{ type: 'TextBlock', text: t.text || t.summary || '', wrap: true }],
  };
  return { type: 'message', attachments: [{ contentType: ADAPTIVE_CARD, contentUrl: null, content }] };
}

const FAILED_INSIDE = /^Webhook message delivery failed/i;

async function postWebhook(raw: string, body: Record<string, unknown>, context: SendContext): Promise<SendResult> {
  const url = parseWebhookUrl(raw);
  if (!url) return notSent('the connection\'s incoming_webhook.url is not an http(s) URL');
  const answer = await httpCall({
    method: 'POST', url: url.href, urlFrom: 'data', allowPrivateNetworks: context.outbound.allowPrivateNetworks, body, secretValues: webhookSecrets(raw),
  });
  const text = typeof answer.body === 'string' ? answer.body.trim() : '';
  if (answer.status >= 200 && answer.status < 300 && FAILED_INSIDE.test(text)) {
    const inner = Number(/HTTP error (\d{3})/i.exec(text)?.[1] ?? 0);
    return { outcome: inner === 0 || isRetryableStatus(inner) ? 'retryable' : 'permanent', error: text.slice(0, 200), call: answer.call };
  }
  return verdict(answer, () => undefined, context.idempotencyKey, (b) => {
    const e = (b as { error?: { message?: unknown; code?: unknown } } | null)?.error;
    if (e && typeof e === 'object') return `${String(e.code ?? 'error')}: ${String(e.message ?? '')}`;
    return typeof b === 'string' && b !== '' ? b.slice(0, 200) : undefined;
  });
}

export const msTeamsProvider: Provider = {
  name: 'ms_teams',
  serviceName: 'ms_teams',
  async send(message: OutboundMessage, context: SendContext): Promise<SendResult> {
    const body = teamsBody(chatText(message));
    return sendToConnections(message, 'Microsoft Teams', async (connection: ChatConnection) => {
      const webhook = incomingWebhookUrl(connection);
      if (webhook) return postWebhook(webhook, body, context);
      if (nonEmptyString(connection.ms_teams_channel_id) || nonEmptyString(connection.ms_teams_user_id)) {
        return notSent('Bot Framework connections (ms_teams_channel_id / ms_teams_user_id) are not supported; give the connection an incoming_webhook.url');
      }
      return notSent('the Microsoft Teams connection has no incoming_webhook.url');
    });
  },
};
