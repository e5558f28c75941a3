/**
 * The provider contract: one file per provider, each turning a rendered message into one call
 * to the provider's wire protocol. A provider never throws for a delivery failure; it answers
 * which kind it was, so the delivery task decides between retrying and giving up, and it always
 * describes the call for the message's delivery log (secrets redacted).
 */
export interface OutboundMessage {
  /** Herald's message id; idempotency keys are derived from it. */
  id: string;
  recipient: { collection: string; id: string };
  /** The content rendered by the channel step (MessageContents data, e.g. email fields). */
  content: Record<string, unknown>;
}

export interface SendContext {
  channel: { id: string; key: string; type: string; provider: string; settings: Record<string, unknown> };
  /** Derived from the message id, the same for every attempt: providers that honour one dedupe. */
  idempotencyKey: string;
  /** 1 for the first attempt. */
  attempt: number;
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
  | { outcome: 'sent'; providerMessageId: string; call: CallSummary }
  /** Worth another attempt later (4xx SMTP replies, timeouts, refused connections, 5xx HTTP). */
  | { outcome: 'retryable'; error: string; call: CallSummary }
  /** Will never succeed as sent (5xx SMTP replies, bad settings, rejected requests). */
  | { outcome: 'permanent'; error: string; call: CallSummary };

export interface Provider {
  /** The `provider` name a channel configures, e.g. `smtp`. */
  name: string;
  /** Shown as the delivery log's `service_name`. */
  serviceName: string;
  send(message: OutboundMessage, context: SendContext): Promise<SendResult>;
}
