/**
 * Inbound delivery-status events: what a provider posts back about a message it took (a bounce,
 * a delivery receipt), read into Herald's terms. One reader per provider wire format; each is
 * pure and returns the events it found, so a batch webhook (Resend, Postmark) may carry several.
 *
 * A message is found either by the provider's id for it (`external_id`, recorded when it was
 * sent) or, for SMTP bounces, by Herald's own message id, recovered from the original
 * `Message-ID: <message id@domain>` header the SMTP provider sets on every email.
 */
export type InboundStatus = 'delivered' | 'bounced' | 'undelivered';

export interface StatusEvent {
  /** The provider's id of the message, or Herald's message id when `byMessageId`. */
  id: string;
  byMessageId?: boolean;
  status: InboundStatus;
  /** The provider's reason, recorded on the message event. */
  reason?: string;
}

type Reader = (body: unknown) => StatusEvent[];

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

/** Postmark's bounce and delivery webhooks (`RecordType` "Bounce" / "Delivery"). */
const postmark: Reader = (body) => list(body).flatMap((raw): StatusEvent[] => {
  const e = obj(raw);
  const id = str(e.MessageID);
  if (!id) return [];
  if (e.RecordType === 'Bounce') return [{ id, status: 'bounced' as const, reason: [str(e.Type), str(e.Description) ?? str(e.Details)].filter(Boolean).join(': ') }];
  if (e.RecordType === 'Delivery') return [{ id, status: 'delivered' as const, reason: str(e.Details) }];
  return [];
});

/** Resend's event webhooks (`email.delivered`, `email.bounced`, `email.failed`). */
const resend: Reader = (body) => list(body).flatMap((raw): StatusEvent[] => {
  const e = obj(raw);
  const data = obj(e.data);
  const id = str(data.email_id);
  if (!id) return [];
  const reason = str(obj(data.bounce).message) ?? str(obj(data.failed).reason);
  if (e.type === 'email.delivered') return [{ id, status: 'delivered' as const }];
  if (e.type === 'email.bounced') return [{ id, status: 'bounced' as const, reason }];
  if (e.type === 'email.failed') return [{ id, status: 'undelivered' as const, reason }];
  return [];
});

/** Twilio's StatusCallback (form fields `MessageSid`, `MessageStatus`, `ErrorCode`). */
const twilio: Reader = (body) => {
  const e = obj(body);
  const id = str(e.MessageSid) ?? str(e.SmsSid);
  const status = str(e.MessageStatus) ?? str(e.SmsStatus);
  if (!id) return [];
  const reason = str(e.ErrorCode) ? `error ${str(e.ErrorCode)}` : undefined;
  if (status === 'delivered') return [{ id, status: 'delivered' }];
  if (status === 'undelivered' || status === 'failed') return [{ id, status: 'undelivered', reason: reason ?? status }];
  return [];
};

/** Vonage Messages API status webhooks (`message_uuid`, `status`). */
const vonage: Reader = (body) => {
  const e = obj(body);
  const id = str(e.message_uuid);
  if (!id) return [];
  const reason = str(obj(e.error).title) ?? str(obj(e.error).detail);
  if (e.status === 'delivered') return [{ id, status: 'delivered' }];
  if (e.status === 'rejected' || e.status === 'undeliverable' || e.status === 'failed') return [{ id, status: 'undelivered', reason: reason ?? String(e.status) }];
  return [];
};

const MESSAGE_ID_HEADER = /^(?:original-)?message-id:\s*<([0-9A-Za-z]{27})@[^>\s]+>/gim;
const DSN_STATUS = /^status:\s*([245])\.\d{1,3}\.\d{1,3}/im;
const DSN_DIAGNOSTIC = /^diagnostic-code:\s*(.+)$/im;

/**
 * SMTP bounces: a delivery status notification (RFC 3464) as the mail server produced it,
 * posted raw (e.g. piped from the bounce mailbox). The failed message is found by the
 * Message-ID of the returned original; `Status: 5.x.x` is a bounce, `2.x.x` a delivery, and
 * `4.x.x` (delayed, still trying) is not an outcome.
 */
const smtp: Reader = (body) => {
  const text = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : '';
  const status = DSN_STATUS.exec(text)?.[1];
  if (status !== '5' && status !== '2') return [];
  const ids = new Set([...text.matchAll(MESSAGE_ID_HEADER)].map((m) => m[1]));
  const reason = DSN_DIAGNOSTIC.exec(text)?.[1]?.trim();
  return [...ids].map((id) => ({ id, byMessageId: true, status: status === '5' ? 'bounced' as const : 'delivered' as const, reason }));
};

const READERS: Record<string, Reader> = { postmark, resend, twilio, vonage, smtp };

/** The providers whose status webhooks Herald reads. */
export const STATUS_WEBHOOK_PROVIDERS = Object.keys(READERS);

export function readStatusEvents(provider: string, body: unknown): StatusEvent[] | null {
  const reader = READERS[provider];
  return reader ? reader(body) : null;
}
