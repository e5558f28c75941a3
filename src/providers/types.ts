/**
 * The provider contract: one file per provider, each turning a rendered message into calls to
 * the provider's wire protocol. A provider never throws for a delivery failure; it answers
 * which kind it was, so the delivery task decides between retrying, failing over to the
 * channel's next provider and giving up, and it always describes its calls for the message's
 * delivery log (secrets redacted).
 */
export interface OutboundMessage {
  /** Herald's message id; idempotency keys are derived from it. */
  id: string;
  recipient: { collection: string; id: string };
  /** The channel type the content was rendered for: email | sms | push | chat | http. */
  channelType: string;
  /** The workflow, tenant and run data the message was created with (webhook default payloads). */
  workflow?: string | null;
  tenant?: string | null;
  data?: unknown;
  /**
   * The content rendered by the channel step (Knock's MessageContents data), by channel type:
   * - email `{from, to, subject_line, html_body, text_body, cc, bcc, reply_to}`
   * - sms `{to, body}`
   * - push `{token, tokens: string[], title, body, data, delivery_type: 'content' | 'silent'}`
   * - chat `{connection, connections: ChatConnection[], template: {summary, blocks: [{name, type, content}], json_content}}`
   * - http `{method, url, headers: Record<string,string>, query_params: Record<string,string>, body}`
   */
  content: Record<string, unknown>;
}

export interface SendContext {
  /** The channel; `provider` / `settings` are those of the provider being tried (failover). */
  channel: { id: string; key: string; type: string; provider: string; settings: Record<string, unknown> };
  /** Derived from the message id, the same for every attempt: providers that honour one dedupe. */
  idempotencyKey: string;
  /** 1 for the first attempt. */
  attempt: number;
  /**
   * The operator's policy for addresses that come from data (chat incoming-webhook URLs in
   * channel data, webhook channel URLs from templates): `allowPrivateNetworks` turns the SSRF
   * guard off (HERALD_OUTBOUND_ALLOW_PRIVATE_NETWORKS, default false).
   */
  outbound: { allowPrivateNetworks: boolean };
}

/**
 * What a delivery log records of one call (Knock's MessageDeliveryLog request/response); header
 * and body values must already be redacted. Non-HTTP protocols map onto it: SMTP is a `POST` of
 * the message, and the reply code is the status (0 when no reply came: refused, timed out).
 */
export interface CallSummary {
  request: { method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH'; host: string; path: string; query: string | null; headers: Record<string, unknown>; body: string | Record<string, unknown> };
  response: { status: number; headers: Record<string, unknown>; body: string | Record<string, unknown> };
}

export type SendResult =
  | {
    outcome: 'sent';
    providerMessageId: string;
    call: CallSummary;
    /** `delivered` when the protocol confirms delivery itself (a webhook's 2xx); default `sent`. */
    status?: 'sent' | 'delivered';
    /** Push tokens the provider reported invalid/unregistered: removed from the recipient's channel data. */
    invalidTokens?: string[];
    /** Further calls made for the same message (one per push token or chat connection). */
    moreCalls?: CallSummary[];
  }
  /** Worth another attempt later, or another provider now (timeouts, refused connections, 429, 5xx HTTP, 4xx SMTP). */
  | { outcome: 'retryable'; error: string; call: CallSummary; invalidTokens?: string[]; moreCalls?: CallSummary[] }
  /** Will never succeed as sent (5xx SMTP replies, bad settings, rejected requests, every token invalid). */
  | { outcome: 'permanent'; error: string; call: CallSummary; invalidTokens?: string[]; moreCalls?: CallSummary[] };

export interface Provider {
  /** The `provider` name a channel configures, e.g. `smtp`, `twilio`, `fcm`. */
  name: string;
  /** Shown as the delivery log's `service_name`. */
  serviceName: string;
  send(message: OutboundMessage, context: SendContext): Promise<SendResult>;
}
