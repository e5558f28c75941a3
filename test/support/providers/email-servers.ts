/**
 * Loopback stand-ins for the HTTP email APIs of Postmark and Resend: real HTTP servers on
 * 127.0.0.1 (port 0) that check a request the way the provider does (credentials, path, content
 * type, body schema) and answer with the provider's success and error shapes.
 *
 * `FakeResend` also implements Resend's idempotency keys (the first answer to a key is given
 * back to every repeat without creating another email; the same key with another body is a 409
 * `invalid_idempotent_request`; a repeat while the first is still being processed is a 409
 * `concurrent_idempotent_requests`), can hold requests open until released, and can drop the
 * connection before or after accepting an email, so lost answers and crashes can be staged.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackServer, type Received } from './loopback-server.js';

export type { Received } from './loopback-server.js';

interface Answer { status: number; body: Record<string, unknown> }

abstract class LoopbackApi extends LoopbackServer {
  protected send(res: ServerResponse, answer: Answer) {
    if (res.destroyed) return;
    res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(answer.body));
  }
}

const MAILBOX = /^(?:"?[^"<>]*"?\s*<[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+)$/;
const isMailbox = (v: unknown) => typeof v === 'string' && MAILBOX.test(v.trim());
/** The bare address of `Name <a@b>` or `a@b`. */
export const bareAddress = (v: string) => (/<([^>]+)>/.exec(v)?.[1] ?? v).trim().toLowerCase();

function parseJson(raw: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(raw);
    return v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Postmark

export interface PostmarkEmail { MessageID: string; body: Record<string, unknown>; headers: IncomingMessage['headers'] }

const POSTMARK_FIELDS = new Set(['From', 'To', 'Cc', 'Bcc', 'Subject', 'Tag', 'HtmlBody', 'TextBody', 'ReplyTo', 'Headers', 'TrackOpens', 'TrackLinks', 'Metadata', 'Attachments', 'MessageStream']);

/**
 * Postmark's `POST /email` (https://postmarkapp.com/developer/api/email-api): the server token
 * in `X-Postmark-Server-Token`, `Accept` and `Content-Type: application/json`, a PascalCase
 * body. 200 `{To, SubmittedAt, MessageID, ErrorCode: 0, Message: "OK"}`; errors
 * `{ErrorCode, Message}` with 401 (ErrorCode 10) for a bad token and 422 for a bad request.
 */
export class FakePostmark extends LoopbackApi {
  readonly emails: PostmarkEmail[] = [];
  /** Answers for the next valid requests, in order; an empty script accepts. */
  script: Answer[] = [];
  /** Recipients Postmark has marked inactive (hard bounce, spam complaint): 422 ErrorCode 406. */
  readonly inactive = new Set<string>();
  constructor(private readonly serverToken: string, private readonly streams: string[] = ['outbound']) { super(); }

  static error(status: number, ErrorCode: number, Message: string): Answer {
    return { status, body: { ErrorCode, Message } };
  }

  protected async handle(r: Received, res: ServerResponse) {
    this.send(res, this.answer(r));
  }

  private answer(r: Received): Answer {
    const invalid = (code: number, message: string) => FakePostmark.error(422, code, message);
    if (r.method !== 'POST' || r.path !== '/email') return { status: 404, body: { ErrorCode: 404, Message: 'Not found' } };
    const token = r.headers['x-postmark-server-token'];
    if (!token) return FakePostmark.error(401, 10, 'No Account or Server API tokens were supplied in the HTTP headers. Please add a header for either X-Postmark-Server-Token or X-Postmark-Account-Token.');
    if (token !== this.serverToken) return FakePostmark.error(401, 10, 'The Server Token you provided in the X-Postmark-Server-Token request header was invalid. Please verify that you are using a valid token.');
    if (!String(r.headers['content-type'] ?? '').startsWith('application/json') || !String(r.headers.accept ?? '').includes('application/json')) {
      return invalid(409, 'JSON Required: send Accept and Content-Type application/json');
    }
    const body = parseJson(r.raw);
    if (!body) return invalid(402, 'Invalid JSON');
    const unknown = Object.keys(body).filter((k) => !POSTMARK_FIELDS.has(k));
    if (unknown.length) return invalid(403, `Incompatible JSON: unknown field(s) ${unknown.join(', ')}`);
    if (!isMailbox(body.From)) return invalid(300, `Invalid 'From' address: '${String(body.From ?? '')}'.`);
    const recipients = (field: string) => (typeof body[field] === 'string' ? (body[field] as string).split(',').map((a) => a.trim()).filter(Boolean) : []);
    const to = recipients('To');
    if (to.length === 0) return invalid(300, 'Zero recipients specified');
    for (const field of ['To', 'Cc', 'Bcc', 'ReplyTo']) {
      if (body[field] !== undefined && (typeof body[field] !== 'string' || !recipients(field).every(isMailbox))) return invalid(300, `Invalid '${field}' address: '${String(body[field])}'.`);
    }
    if (typeof body.Subject !== 'string') return invalid(300, 'Invalid or missing Subject');
    if (!body.HtmlBody && !body.TextBody) return invalid(300, 'Provide either email TextBody or HtmlBody or both.');
    if (body.MessageStream !== undefined && !this.streams.includes(String(body.MessageStream))) {
      return invalid(1235, `The message stream for the provided 'ID' was not found.`);
    }
    if (body.Metadata !== undefined) {
      const m = body.Metadata;
      if (!m || typeof m !== 'object' || Array.isArray(m)) return invalid(300, 'Metadata must be an object');
      for (const [k, v] of Object.entries(m)) {
        if (k.length > 20 || typeof v !== 'string' || v.length > 80) return invalid(300, `Invalid metadata field '${k}': keys up to 20 and string values up to 80 characters`);
      }
    }
    const scripted = this.script.shift();
    if (scripted) return scripted;
    const dead = [...to, ...recipients('Cc'), ...recipients('Bcc')].filter((a) => this.inactive.has(bareAddress(a)));
    if (dead.length) return invalid(406, `You tried to send to recipient(s) that have been marked as inactive. Found inactive addresses: ${dead.join(', ')}. Inactive recipients are ones that have generated a hard bounce, a spam complaint, or a manual suppression.`);
    const MessageID = randomUUID();
    this.emails.push({ MessageID, body, headers: r.headers });
    return { status: 200, body: { To: body.To, SubmittedAt: new Date().toISOString(), MessageID, ErrorCode: 0, Message: 'OK' } };
  }
}

// ---------------------------------------------------------------------------------------------
// Resend

export interface ResendEmail { id: string; idempotencyKey: string | null; body: Record<string, unknown>; headers: IncomingMessage['headers'] }

/**
 * A scripted answer for the next valid request: an error answer (nothing created), or a dropped
 * connection, before the email is created (`before-accept`: as if it never arrived) or after
 * (`after-accept`: created, and its answer stored for the idempotency key, but lost on the way).
 */
export type ResendScript = { status: number; name?: string; message?: string } | { drop: 'before-accept' | 'after-accept' };

const RESEND_FIELDS = new Set(['from', 'to', 'cc', 'bcc', 'reply_to', 'subject', 'html', 'text', 'tags', 'headers', 'attachments', 'scheduled_at']);
const RESEND_NAMES: Record<number, string> = { 400: 'validation_error', 401: 'validation_error', 403: 'invalid_api_key', 409: 'invalid_idempotent_request', 422: 'validation_error', 429: 'rate_limit_exceeded', 500: 'internal_server_error', 503: 'application_error' };
const TAG = /^[A-Za-z0-9_-]{1,256}$/;

interface KeyState { hash: string; answer: Answer | null }

/**
 * Resend's `POST /emails` (https://resend.com/docs/api-reference/emails/send-email):
 * `Authorization: Bearer <api key>`, JSON `{from, to, cc?, bcc?, reply_to?, subject, html?,
 * text?, tags?}`, optional `Idempotency-Key` (1–256 characters). 200 `{id}`; errors
 * `{statusCode, name, message}`. Unknown body fields are refused (Resend ignores them), so a
 * misspelt field fails loudly.
 */
export class FakeResend extends LoopbackApi {
  /** The emails created, in order (an idempotent repeat creates none). */
  readonly emails: ResendEmail[] = [];
  /** Answers for the next valid requests, in order; an empty script accepts. */
  script: ResendScript[] = [];
  private readonly keys = new Map<string, KeyState>();
  private holding: 'before-accept' | 'after-accept' | null = null;
  private readonly parked: (() => void)[] = [];

  constructor(private readonly apiKey: string) { super(); }

  static error(status: number, name = RESEND_NAMES[status] ?? 'application_error', message = `scripted ${status}`): ResendScript {
    return { status, name, message };
  }

  /**
   * Holds every valid request from now on until `release()`. `before-accept`: the request is
   * parked unprocessed (its idempotency key is in flight, so a repeat gets a 409
   * `concurrent_idempotent_requests`), and is processed on release even if its client has gone,
   * as Resend would. `after-accept`: the email is created at once and only the answer waits.
   */
  hold(mode: 'before-accept' | 'after-accept' = 'before-accept') { this.holding = mode; }

  /** Stops holding and lets every held request go on. */
  release() {
    this.holding = null;
    for (const go of this.parked.splice(0)) go();
  }

  /** Requests currently held. */
  get held() { return this.parked.length; }

  protected async handle(r: Received, res: ServerResponse) {
    const failure = this.check(r);
    if (failure) return this.send(res, failure);
    const body = parseJson(r.raw)!;
    const key = typeof r.headers['idempotency-key'] === 'string' ? r.headers['idempotency-key'] : null;
    const hash = createHash('sha256').update(r.raw).digest('hex');
    const scripted = this.script.shift();
    if (scripted && 'status' in scripted) return this.send(res, this.err(scripted.status, scripted.name ?? RESEND_NAMES[scripted.status] ?? 'application_error', scripted.message ?? `scripted ${scripted.status}`));
    if (scripted?.drop === 'before-accept') return void res.socket?.destroy();

    if (key !== null) {
      const seen = this.keys.get(key);
      if (seen && seen.hash !== hash) return this.send(res, this.err(409, 'invalid_idempotent_request', 'This idempotency key has already been used on a request that had a different payload. Retrying this request is useless without changing the idempotency key or payload.'));
      if (seen && seen.answer === null) return this.send(res, this.err(409, 'concurrent_idempotent_requests', 'Same idempotency key used while original request is still in progress.'));
      if (seen?.answer) return this.finish(res, seen.answer, scripted);
      this.keys.set(key, { hash, answer: null });
    }
    if (this.holding === 'before-accept') await new Promise<void>((resolve) => this.parked.push(resolve));
    const id = randomUUID();
    this.emails.push({ id, idempotencyKey: key, body, headers: r.headers });
    const answer: Answer = { status: 200, body: { id } };
    if (key !== null) this.keys.set(key, { hash, answer });
    if (this.holding === 'after-accept') await new Promise<void>((resolve) => this.parked.push(resolve));
    return this.finish(res, answer, scripted);
  }

  private finish(res: ServerResponse, answer: Answer, scripted: ResendScript | undefined) {
    if (scripted && 'drop' in scripted && scripted.drop === 'after-accept') return void res.socket?.destroy();
    return this.send(res, answer);
  }

  private err(statusCode: number, name: string, message: string): Answer {
    return { status: statusCode, body: { statusCode, name, message } };
  }

  /** Resend's checks of a request, in its order; null when it is valid. */
  private check(r: Received): Answer | null {
    if (r.path !== '/emails') return this.err(404, 'not_found', 'The requested endpoint does not exist.');
    if (r.method !== 'POST') return this.err(405, 'method_not_allowed', 'Method is not allowed for the requested path.');
    const auth = r.headers.authorization;
    if (!auth) return this.err(401, 'missing_api_key', 'Missing API key in the authorization header. Include the following header in the request: Authorization: Bearer YOUR_API_KEY');
    if (auth !== `Bearer ${this.apiKey}`) return this.err(401, 'validation_error', 'API key is invalid');
    const key = r.headers['idempotency-key'];
    if (key !== undefined && (typeof key !== 'string' || key.length < 1 || key.length > 256)) return this.err(400, 'invalid_idempotency_key', 'The key must be between 1-256 chars.');
    if (!String(r.headers['content-type'] ?? '').startsWith('application/json')) return this.err(400, 'validation_error', 'Invalid content type: expected application/json');
    const body = parseJson(r.raw);
    if (!body) return this.err(400, 'validation_error', 'Invalid JSON body');
    const unknown = Object.keys(body).filter((k) => !RESEND_FIELDS.has(k));
    if (unknown.length) return this.err(422, 'validation_error', `Unknown field(s): ${unknown.join(', ')}`);
    if (body.from === undefined) return this.err(422, 'missing_required_field', 'Missing `from` field.');
    if (!isMailbox(body.from)) return this.err(422, 'validation_error', 'Invalid `from` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format.');
    const list = (v: unknown) => (typeof v === 'string' ? [v] : Array.isArray(v) ? v : null);
    const to = list(body.to);
    if (body.to === undefined) return this.err(422, 'missing_required_field', 'Missing `to` field.');
    if (!to || to.length === 0 || to.length > 50 || !to.every(isMailbox)) return this.err(422, 'validation_error', 'Invalid `to` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format.');
    for (const field of ['cc', 'bcc', 'reply_to']) {
      if (body[field] === undefined) continue;
      const l = list(body[field]);
      if (!l || !l.every(isMailbox)) return this.err(422, 'validation_error', `Invalid \`${field}\` field.`);
    }
    if (typeof body.subject !== 'string' || body.subject === '') return this.err(422, 'missing_required_field', 'Missing `subject` field.');
    if (typeof body.html !== 'string' && typeof body.text !== 'string') return this.err(422, 'validation_error', 'Missing `html` or `text` field.');
    if (body.tags !== undefined) {
      const tags = body.tags;
      if (!Array.isArray(tags) || !tags.every((t) => t && typeof t === 'object' && TAG.test(String((t as { name?: unknown }).name)) && TAG.test(String((t as { value?: unknown }).value)))) {
        return this.err(422, 'validation_error', 'Tags should only contain ASCII letters, numbers, underscores, or dashes.');
      }
    }
    return null;
  }
}
