/**
 * Loopback stand-ins for the SMS providers' APIs: real HTTP servers on 127.0.0.1 that check a
 * request the way Twilio and Vonage do (credentials, path, content type, body schema) and
 * answer with their real success and error shapes. A `script` of answers makes the next valid
 * requests fail (rate limits, outages) before the server goes back to accepting.
 */
import type { ServerResponse } from 'node:http';
import { LoopbackServer, type Received } from './loopback-server.js';
import { randomBytes, randomUUID } from 'node:crypto';

export type { Received } from './loopback-server.js';

export interface Scripted { status: number; body: Record<string, unknown> }

abstract class LoopbackApi extends LoopbackServer {
  /** Answers for the next valid requests, in order; an empty script accepts. */
  script: Scripted[] = [];

  protected handle(r: Received, res: ServerResponse) {
    const [status, body, contentType] = this.answer(r);
    res.writeHead(status, { 'content-type': contentType }).end(JSON.stringify(body));
  }

  /** The scripted answer for a request that passed validation, if any. */
  protected scripted(): Scripted | undefined { return this.script.shift(); }

  protected abstract answer(r: Received): [number, Record<string, unknown>, string];
}

/** `Basic base64(user:pass)` → [user, pass], or null. */
export function basicCredentials(header: string | undefined): [string, string] | null {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i < 0 ? null : [decoded.slice(0, i), decoded.slice(i + 1)];
}

const E164 = /^\+[1-9]\d{6,14}$/;

/**
 * Twilio's `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`: Basic auth with the account
 * SID and auth token, or an API key SID (`SK…`) and its secret; form-encoded parameters; 201
 * with the Message resource; errors `{code, message, more_info, status}`.
 */
export class FakeTwilio extends LoopbackApi {
  /** The accepted messages' form parameters, in order. */
  readonly messages: Record<string, string>[] = [];
  readonly sids: string[] = [];
  constructor(readonly accountSid: string, private readonly credentials: Record<string, string>) { super(); }

  static error(status: number, code: number, message: string): Scripted {
    return { status, body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status } };
  }

  protected answer(r: Received): [number, Record<string, unknown>, string] {
    const fail = (e: Scripted): [number, Record<string, unknown>, string] => [e.status, e.body, 'application/json; charset=utf-8'];
    const m = /^\/2010-04-01\/Accounts\/([^/?]+)\/Messages\.json$/.exec(r.path);
    if (r.method !== 'POST' || !m) return fail(FakeTwilio.error(404, 20404, `The requested resource ${r.path} was not found`));
    const creds = basicCredentials(r.headers.authorization);
    if (!creds || this.credentials[creds[0]] === undefined || this.credentials[creds[0]] !== creds[1]) return fail(FakeTwilio.error(401, 20003, 'Authenticate'));
    if (decodeURIComponent(m[1]) !== this.accountSid) return fail(FakeTwilio.error(404, 20404, `The requested resource ${r.path} was not found`));
    // Twilio reads form parameters only; any other body leaves every parameter missing.
    const form = (r.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
      ? Object.fromEntries(new URLSearchParams(r.raw)) : {};
    const invalid = this.validate(form);
    if (invalid) return fail(invalid);
    const next = this.scripted();
    if (next) return fail(next);
    const sid = `SM${randomBytes(16).toString('hex')}`;
    this.messages.push(form);
    this.sids.push(sid);
    const now = new Date().toUTCString();
    return [201, {
      account_sid: this.accountSid, api_version: '2010-04-01', body: form.Body, date_created: now, date_sent: null, date_updated: now,
      direction: 'outbound-api', error_code: null, error_message: null, from: form.From ?? null,
      messaging_service_sid: form.MessagingServiceSid ?? null, num_media: '0', num_segments: '1', price: null, price_unit: 'USD',
      sid, status: form.MessagingServiceSid ? 'accepted' : 'queued', subresource_uris: { media: `/2010-04-01/Accounts/${this.accountSid}/Messages/${sid}/Media.json` },
      to: form.To, uri: `/2010-04-01/Accounts/${this.accountSid}/Messages/${sid}.json`,
    }, 'application/json; charset=utf-8'];
  }

  private validate(form: Record<string, string>): Scripted | null {
    if (!form.To) return FakeTwilio.error(400, 21604, "A 'To' phone number is required.");
    if (!E164.test(form.To)) return FakeTwilio.error(400, 21211, `Invalid 'To' Phone Number: ${form.To}`);
    if (!form.From && !form.MessagingServiceSid) return FakeTwilio.error(400, 21603, "A 'From' phone number is required.");
    if (form.MessagingServiceSid && !/^MG[0-9a-f]{32}$/.test(form.MessagingServiceSid)) return FakeTwilio.error(400, 21701, `The Messaging Service Sid ${form.MessagingServiceSid} is invalid.`);
    if (form.From && !E164.test(form.From) && !/^[A-Za-z0-9 ]{1,11}$/.test(form.From)) return FakeTwilio.error(400, 21212, `The 'From' number ${form.From} is not a valid phone number, shortcode, or alphanumeric sender ID.`);
    if (!form.Body) return FakeTwilio.error(400, 21602, 'Message body is required.');
    if (form.Body.length > 1600) return FakeTwilio.error(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
    if (form.StatusCallback !== undefined && !/^https?:\/\/[^\s_]+$/.test(form.StatusCallback)) return FakeTwilio.error(400, 21609, `Invalid StatusCallback url: ${form.StatusCallback}`);
    return null;
  }
}

/**
 * Vonage's Messages API `POST /v1/messages` for the SMS channel: Basic auth with the API key and
 * secret, a JSON body, 202 `{message_uuid}`; errors are RFC 7807 problem documents.
 */
export class FakeVonage extends LoopbackApi {
  /** The accepted messages' JSON bodies, in order. */
  readonly messages: Record<string, unknown>[] = [];
  readonly uuids: string[] = [];
  constructor(private readonly apiKey: string, private readonly apiSecret: string) { super(); }

  static problem(status: number, type: string, title: string, detail: string, extra: Record<string, unknown> = {}): Scripted {
    return { status, body: { type: `https://developer.vonage.com/api-errors${type}`, title, detail, instance: randomUUID(), ...extra } };
  }

  protected answer(r: Received): [number, Record<string, unknown>, string] {
    const fail = (e: Scripted): [number, Record<string, unknown>, string] => [e.status, e.body, 'application/problem+json'];
    if (r.method !== 'POST' || r.path !== '/v1/messages') return fail(FakeVonage.problem(404, '#not-found', 'Not Found', 'The requested resource does not exist, or you do not have access to it.'));
    const creds = basicCredentials(r.headers.authorization);
    if (!creds || creds[0] !== this.apiKey || creds[1] !== this.apiSecret) return fail(FakeVonage.problem(401, '#unauthorized', 'Unauthorized', 'You did not provide correct credentials.'));
    let body: unknown;
    try {
      if (!(r.headers['content-type'] ?? '').startsWith('application/json')) throw new Error('not JSON');
      body = JSON.parse(r.raw);
    } catch {
      return fail(FakeVonage.problem(400, '/messages#1000', 'Bad Request', 'The request body is not valid JSON.'));
    }
    const invalid = this.invalidParameters(body);
    if (invalid.length > 0) {
      return fail(FakeVonage.problem(422, '/messages#1150', 'Invalid params', 'The value of one or more parameters is invalid.', { invalid_parameters: invalid }));
    }
    const next = this.scripted();
    if (next) return fail(next);
    const uuid = randomUUID();
    this.messages.push(body as Record<string, unknown>);
    this.uuids.push(uuid);
    return [202, { message_uuid: uuid }, 'application/json'];
  }

  private invalidParameters(body: unknown): { name: string; reason: string }[] {
    if (!body || typeof body !== 'object' || Array.isArray(body)) return [{ name: 'body', reason: 'must be an object' }];
    const b = body as Record<string, unknown>;
    const out: { name: string; reason: string }[] = [];
    if (b.message_type !== 'text') out.push({ name: 'message_type', reason: 'must be one of text, image, … for channel sms' });
    if (b.channel !== 'sms') out.push({ name: 'channel', reason: 'must be sms' });
    // E.164 without the leading +.
    if (typeof b.to !== 'string' || !/^[1-9]\d{6,14}$/.test(b.to)) out.push({ name: 'to', reason: 'must be a phone number in E.164 format without a leading +' });
    if (typeof b.from !== 'string' || !(/^[1-9]\d{3,14}$/.test(b.from) || /^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$/.test(b.from))) out.push({ name: 'from', reason: 'must be a number without a leading + or an alphanumeric sender id of up to 11 characters' });
    if (typeof b.text !== 'string' || b.text.length < 1 || b.text.length > 1000) out.push({ name: 'text', reason: 'must be 1 to 1000 characters' });
    if (b.client_ref !== undefined && (typeof b.client_ref !== 'string' || b.client_ref.length > 100)) out.push({ name: 'client_ref', reason: 'must be a string of up to 100 characters' });
    if (b.webhook_url !== undefined && (typeof b.webhook_url !== 'string' || !/^https?:\/\//.test(b.webhook_url))) out.push({ name: 'webhook_url', reason: 'must be a URL' });
    return out;
  }
}
