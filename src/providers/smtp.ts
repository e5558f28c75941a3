import type { Transporter } from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { CallSummary, OutboundMessage, Provider, SendContext, SendResult } from './types.js';
import { inSpan } from '../telemetry/port.js';

/**
 * Email over SMTP with nodemailer. Channel settings: `host`, `port` (587), `secure` (TLS from
 * the first byte, for port 465), `user` / `password`, `ignore_tls` (never STARTTLS),
 * `require_tls`, `tls_reject_unauthorized` (default true), `from` (default sender),
 * `message_id_domain`, `max_connections` (SMTP connections kept open to the server, default 10),
 * `max_messages_per_connection` (default 100; then the connection is replaced).
 *
 * SMTP has no idempotency key, so the `Message-ID` header is derived from Herald's message id:
 * every attempt of a message carries the same one, and receivers that dedupe on it see one email.
 * 4xx replies and connection failures are retryable; 5xx replies are permanent.
 */
interface SmtpSettings {
  host?: string;
  port?: number;
  secure?: boolean;
  user?: string;
  password?: string;
  ignore_tls?: boolean;
  require_tls?: boolean;
  tls_reject_unauthorized?: boolean;
  from?: string;
  message_id_domain?: string;
  max_connections?: number;
  max_messages_per_connection?: number;
}

/**
 * Connections to one server are bounded: servers commonly refuse more than a handful from one
 * client. Sends beyond them wait in the pool's queue for a free connection.
 */
export const DEFAULT_MAX_CONNECTIONS = 10;
/** An idle pooled connection is closed after this long, so a quiet channel holds no sockets. */
const IDLE_MS = 2_000;

/**
 * One pooled transport per channel and provider settings (a channel's fallbacks have their own).
 * Opening an SMTP connection (TCP, greeting, EHLO, AUTH) costs several round trips and often a
 * deliberate greeting delay; a pool pays it once per connection and sends message after message
 * on it. When a channel's settings change, sends go to a new pool, and the channel's pools left
 * unused for STALE_MS are closed once the sends they hold have finished (closing a pool at once
 * would fail them).
 */
interface Pool {
  channelId: string;
  transport: Transporter<SMTPPool.SentMessageInfo, SMTPPool.Options>;
  /** Sends handed to this transport and not finished yet. */
  inFlight: number;
  lastUsed: number;
  retired: boolean;
}
const pools = new Map<string, Pool>();
const STALE_MS = 60_000;

const positive = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : fallback);

/** How a channel's settings reach its server (address, TLS, credentials): sends and `herald doctor`'s check alike. */
export function smtpConnectionOptions(settings: object) {
  const s = settings as SmtpSettings;
  return {
    host: s.host,
    port: s.port ?? 587,
    secure: s.secure ?? false,
    ignoreTLS: s.ignore_tls ?? false,
    requireTLS: s.require_tls ?? false,
    auth: s.user ? { user: s.user, pass: s.password ?? '' } : undefined,
    tls: { rejectUnauthorized: s.tls_reject_unauthorized ?? true },
  };
}

function poolFor(channelId: string, s: SmtpSettings): Pool {
  const key = `${channelId}\n${JSON.stringify(s)}`;
  const current = pools.get(key);
  if (current) return current;
  const now = Date.now();
  for (const [k, old] of pools) {
    if (old.channelId === channelId && now - old.lastUsed > STALE_MS) {
      pools.delete(k);
      retire(old);
    }
  }
  const options: SMTPPool.Options & { idleTimeout: number } = {
    pool: true,
    maxConnections: positive(s.max_connections, DEFAULT_MAX_CONNECTIONS),
    maxMessages: positive(s.max_messages_per_connection, 100),
    idleTimeout: IDLE_MS,
    ...smtpConnectionOptions(s),
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 30_000,
  };
  const pool: Pool = { channelId, transport: mailer!.createTransport(options), inFlight: 0, lastUsed: now, retired: false };
  pools.set(key, pool);
  return pool;
}

function retire(pool: Pool): void {
  pool.retired = true;
  if (pool.inFlight === 0) pool.transport.close();
}

/** Closes every pooled SMTP connection once its current sends finish (shutdown); later sends open new pools. */
export function closeSmtpTransports(): void {
  for (const pool of pools.values()) retire(pool);
  pools.clear();
}

/** One send as a client span (tracing on): the server, and the reply code once it answered. */
function sendTraced(channelId: string, s: SmtpSettings, mail: Mail.Options): Promise<SMTPPool.SentMessageInfo> {
  return inSpan('smtp.send', { kind: 'client', attributes: { 'server.address': s.host, 'server.port': s.port ?? 587, 'herald.smtp.pooled': true } }, async (span) => {
    try {
      const info = await sendPooled(channelId, s, mail);
      span.setAttributes({ 'herald.smtp.reply': String(info.response ?? '').slice(0, 3) || undefined });
      return info;
    } catch (err) {
      const code = (err as { responseCode?: number }).responseCode;
      span.setAttributes({ 'herald.smtp.reply': code === undefined ? undefined : String(code), 'error.type': (err as { code?: string }).code });
      throw err;
    }
  });
}

/** nodemailer, imported by the first send: a Herald that sends no email never loads it (~100 ms of start-up). */
let mailer: typeof import('nodemailer').default | undefined;

async function sendPooled(channelId: string, s: SmtpSettings, mail: Mail.Options): Promise<SMTPPool.SentMessageInfo> {
  mailer ??= (await import('nodemailer')).default;
  const pool = poolFor(channelId, s);
  pool.inFlight += 1;
  pool.lastUsed = Date.now();
  try {
    return await pool.transport.sendMail(mail);
  } finally {
    pool.inFlight -= 1;
    if (pool.retired && pool.inFlight === 0) pool.transport.close();
  }
}

const list = (v: unknown): string[] | undefined => {
  if (typeof v === 'string' && v !== '') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x !== '');
  return undefined;
};

function messageIdFor(message: OutboundMessage, s: SmtpSettings, from: string): string {
  const domain = s.message_id_domain ?? /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'herald.local';
  return `<${message.id}@${domain}>`;
}

export const smtpProvider: Provider = {
  name: 'smtp',
  serviceName: 'smtp',
  async send(message: OutboundMessage, context: SendContext): Promise<SendResult> {
    const s = context.channel.settings as SmtpSettings;
    const c = message.content;
    const from = (typeof c.from === 'string' && c.from) || s.from || '';
    const to = list(c.to) ?? [];
    const headers = {
      from,
      to,
      cc: list(c.cc) ?? null,
      bcc: list(c.bcc) ?? null,
      reply_to: typeof c.reply_to === 'string' ? c.reply_to : null,
      subject: typeof c.subject_line === 'string' ? c.subject_line : '',
      'message-id': messageIdFor(message, s, from),
    };
    // Credentials never appear here: only the server, the envelope and the headers.
    const request: CallSummary['request'] = {
      method: 'POST', host: `${s.host ?? ''}:${s.port ?? 587}`, path: '/', query: null, headers,
      body: { html_bytes: Buffer.byteLength(String(c.html_body ?? '')), text_bytes: Buffer.byteLength(String(c.text_body ?? '')) },
    };
    if (!s.host) return { outcome: 'permanent', error: 'the channel has no SMTP host', call: { request, response: { status: 0, headers: {}, body: 'not sent: the channel has no SMTP host' } } };
    if (!from) return { outcome: 'permanent', error: 'no from address', call: { request, response: { status: 0, headers: {}, body: 'not sent: no from address (channel settings.from or the step\'s channel_overrides.from)' } } };
    try {
      const info = await sendTraced(context.channel.id, s, {
        from,
        to,
        cc: headers.cc ?? undefined,
        bcc: headers.bcc ?? undefined,
        replyTo: headers.reply_to ?? undefined,
        subject: headers.subject,
        html: typeof c.html_body === 'string' && c.html_body !== '' ? c.html_body : undefined,
        text: typeof c.text_body === 'string' && c.text_body !== '' ? c.text_body : undefined,
        messageId: headers['message-id'],
      });
      const status = Number(/^(\d{3})/.exec(String(info.response ?? ''))?.[1] ?? 250);
      return {
        outcome: 'sent',
        providerMessageId: info.messageId,
        call: { request, response: { status, headers: {}, body: { response: info.response, accepted: info.accepted, rejected: info.rejected } } },
      };
    } catch (err) {
      const e = err as { responseCode?: number; response?: string; code?: string; message?: string };
      const code = typeof e.responseCode === 'number' ? e.responseCode : null;
      const text = e.response ?? e.message ?? String(err);
      const call: CallSummary = { request, response: { status: code ?? 0, headers: {}, body: { error: e.code ?? null, response: text } } };
      // A 5xx reply is the server's final word; anything else (4xx, no reply) may pass later.
      if (code !== null && code >= 500) return { outcome: 'permanent', error: text, call };
      return { outcome: 'retryable', error: text, call };
    }
  },
};
