/**
 * Loopback stand-ins for the chat services: real HTTP servers on 127.0.0.1 that check a request
 * the way Slack, Microsoft Teams and Discord do (webhook path tokens, bearer / bot tokens, the
 * content type, the body schema, Discord's 2,000-character limit and nonces) and answer with their
 * real success and error shapes. A `script` of answers makes the next valid requests fail (rate
 * limits, outages) before the server goes back to accepting.
 */
import type { ServerResponse } from 'node:http';
import { LoopbackServer, type Received } from './loopback-server.js';
import { randomBytes, randomUUID } from 'node:crypto';

export type { Received } from './loopback-server.js';

export interface Answer {
  status: number;
  /** An object is sent as JSON, a string as text; null sends no body. */
  body: Record<string, unknown> | string | null;
  headers?: Record<string, string>;
}

abstract class LoopbackChat extends LoopbackServer {
  /** Answers for the next valid requests, in order; an empty script accepts. */
  script: Answer[] = [];

  protected handle(r: Received, res: ServerResponse) {
    const a = this.answer(r);
    const isJson = a.body !== null && typeof a.body === 'object';
    const headers = { 'content-type': isJson ? 'application/json; charset=utf-8' : 'text/html', ...a.headers };
    res.writeHead(a.status, a.body === null ? a.headers ?? {} : headers).end(a.body === null ? undefined : isJson ? JSON.stringify(a.body) : a.body);
  }

  protected scripted(): Answer | undefined { return this.script.shift(); }

  protected abstract answer(r: Received): Answer;

  /** The JSON object of a request, or null when it is not `application/json` or not an object. */
  protected static json(r: Received): Record<string, unknown> | null {
    if (!/^application\/json\b/i.test(r.headers['content-type'] ?? '')) return null;
    try {
      const v = JSON.parse(r.raw) as unknown;
      return v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : null;
    } catch {
      return null;
    }
  }
}

const token = (n: number) => randomBytes(n).toString('base64url').replace(/[-_]/g, 'x').slice(0, n);

/**
 * Slack: incoming webhooks `POST /services/T…/B…/<secret>` (200 `ok`; 400 `invalid_payload` /
 * `no_text`, 403 `invalid_token`, 404 `no_service` as text) and the Web API's
 * `POST /api/chat.postMessage` (Bearer token; HTTP 200 `{ok: true, channel, ts, message}` or
 * `{ok: false, error}`: `not_authed`, `invalid_auth`, `channel_not_found`, `is_archived`,
 * `no_text`, `invalid_blocks`, `invalid_json`).
 */
export class FakeSlack extends LoopbackChat {
  /** The accepted messages with where they went (`webhook:<channel>` or the channel id). */
  readonly posts: { to: string; body: Record<string, unknown> }[] = [];
  private webhooks = new Map<string, { secret: string; channel: string }>();
  private tokens = new Set<string>();
  private channels = new Map<string, { archived: boolean }>();
  private ts = 1_772_366_400;

  /** A new incoming webhook posting to `channel`: its URL (the secret is the last segment). */
  webhook(channel: string): { url: string; secret: string } {
    const key = `T${token(8).toUpperCase()}/B${token(10).toUpperCase()}`;
    const secret = token(24);
    this.webhooks.set(key, { secret, channel });
    return { url: `${this.url}/services/${key}/${secret}`, secret };
  }

  allowToken(t: string) { this.tokens.add(t); return this; }
  channel(id: string, opts: { archived?: boolean } = {}) { this.channels.set(id, { archived: opts.archived ?? false }); return this; }

  private static hasText(body: Record<string, unknown>) {
    return (typeof body.text === 'string' && body.text.trim() !== '') || (Array.isArray(body.blocks) && body.blocks.length > 0) || Array.isArray(body.attachments);
  }

  protected answer(r: Received): Answer {
    const path = r.path.split('?')[0];
    if (r.method !== 'POST') return { status: 405, body: 'method_not_allowed' };
    const hook = /^\/services\/(T[A-Z0-9]+\/B[A-Z0-9]+)\/([^/]+)$/.exec(path);
    if (hook) {
      const known = this.webhooks.get(hook[1]);
      if (!known) return { status: 404, body: 'no_service' };
      if (known.secret !== hook[2]) return { status: 403, body: 'invalid_token' };
      const body = LoopbackChat.json(r);
      if (!body) return { status: 400, body: 'invalid_payload' };
      if (!FakeSlack.hasText(body)) return { status: 400, body: 'no_text' };
      if (body.blocks !== undefined && !Array.isArray(body.blocks)) return { status: 400, body: 'invalid_blocks' };
      const s = this.scripted();
      if (s) return s;
      this.posts.push({ to: `webhook:${known.channel}`, body });
      return { status: 200, body: 'ok' };
    }
    if (path !== '/api/chat.postMessage') return { status: 404, body: 'not found' };
    const auth = /^Bearer (\S+)$/.exec(r.headers.authorization ?? '');
    if (!auth) return { status: 200, body: { ok: false, error: 'not_authed' } };
    if (!this.tokens.has(auth[1])) return { status: 200, body: { ok: false, error: 'invalid_auth' } };
    const body = LoopbackChat.json(r);
    if (!body) return { status: 200, body: { ok: false, error: 'invalid_json' } };
    if (typeof body.channel !== 'string' || body.channel === '') return { status: 200, body: { ok: false, error: 'channel_not_found' } };
    // A user id posts to the app's DM with that user.
    const channel = body.channel.startsWith('U') ? `D${body.channel.slice(1)}` : body.channel;
    const known = body.channel.startsWith('U') ? { archived: false } : this.channels.get(channel);
    if (!known) return { status: 200, body: { ok: false, error: 'channel_not_found' } };
    if (known.archived) return { status: 200, body: { ok: false, error: 'is_archived' } };
    if (body.blocks !== undefined && !Array.isArray(body.blocks)) return { status: 200, body: { ok: false, error: 'invalid_blocks' } };
    if (!FakeSlack.hasText(body)) return { status: 200, body: { ok: false, error: 'no_text' } };
    const s = this.scripted();
    if (s) return s;
    this.posts.push({ to: channel, body });
    this.ts += 1;
    const ts = `${this.ts}.000100`;
    return { status: 200, body: { ok: true, channel, ts, message: { type: 'message', text: body.text, ts } } };
  }
}

/**
 * Microsoft Teams incoming webhooks (`POST /webhookb2/<group>@<tenant>/IncomingWebhook/<id>/<owner>`):
 * an Adaptive Card message or a MessageCard as JSON; 200 `1`, 400 `Bad payload received by
 * generic incoming webhook.`, 404 for an unknown or removed webhook.
 */
export class FakeTeams extends LoopbackChat {
  readonly posts: { channel: string; body: Record<string, unknown> }[] = [];
  private webhooks = new Map<string, string>();

  webhook(channel: string): { url: string; secret: string } {
    const secret = randomBytes(16).toString('hex');
    const path = `/webhookb2/${randomUUID()}@${randomUUID()}/IncomingWebhook/${secret}/${randomUUID()}`;
    this.webhooks.set(path, channel);
    return { url: `${this.url}${path}`, secret };
  }

  private static validCard(body: Record<string, unknown>): boolean {
    if (body['@type'] === 'MessageCard') return typeof body.text === 'string' || Array.isArray(body.sections);
    if (body.type !== 'message' || !Array.isArray(body.attachments) || body.attachments.length === 0) return false;
    return body.attachments.every((a: any) => a && a.contentType === 'application/vnd.microsoft.card.adaptive'
      && a.content?.type === 'AdaptiveCard' && typeof a.content.version === 'string' && Array.isArray(a.content.body));
  }

  protected answer(r: Received): Answer {
    if (r.method !== 'POST') return { status: 405, body: 'Method Not Allowed' };
    const channel = this.webhooks.get(r.path.split('?')[0]);
    if (!channel) return { status: 404, body: 'Webhook not found' };
    const body = LoopbackChat.json(r);
    if (!body || !FakeTeams.validCard(body)) return { status: 400, body: 'Bad payload received by generic incoming webhook.' };
    const s = this.scripted();
    if (s) return s;
    this.posts.push({ channel, body });
    return { status: 200, body: '1' };
  }
}

/**
 * Discord: webhooks `POST /api/webhooks/{id}/{token}[?wait=true]` (200 with the message object
 * when `wait`, else 204; 401 `Invalid Webhook Token` 50027, 404 `Unknown Webhook` 10015) and
 * `POST /api/v10/channels/{id}/messages` (`Authorization: Bot <token>`; 401 `401: Unauthorized`,
 * 404 `Unknown Channel` 10003). Bodies: 400 `Cannot send an empty message` 50006, 400
 * `Invalid Form Body` 50035 over 2,000 characters or a nonce over 25; `enforce_nonce` returns
 * the message already created with that nonce.
 */
export class FakeDiscord extends LoopbackChat {
  readonly posts: { channel: string; body: Record<string, unknown>; id: string }[] = [];
  private webhooks = new Map<string, { token: string; channel: string }>();
  private channels = new Set<string>();
  private snowflake = 1_234_567_890_123_456_000n;
  constructor(private readonly botToken: string) { super(); }

  webhook(channel: string): { url: string; secret: string } {
    const id = String(this.snowflake += 7n);
    const secret = token(68);
    this.webhooks.set(id, { token: secret, channel });
    return { url: `${this.url}/api/webhooks/${id}/${secret}`, secret };
  }

  channel(id: string) { this.channels.add(id); return this; }

  static invalidFormBody(field: string, code: string, message: string) {
    return { code: 50035, errors: { [field]: { _errors: [{ code, message }] } }, message: 'Invalid Form Body' };
  }

  private create(channel: string, body: Record<string, unknown>, wait: boolean): Answer {
    const content = body.content;
    if (content !== undefined && typeof content !== 'string') return { status: 400, body: FakeDiscord.invalidFormBody('content', 'STRING_TYPE_CONVERT', 'Could not interpret "{}" as string.') };
    if ([...(content ?? '')].length > 2000) return { status: 400, body: FakeDiscord.invalidFormBody('content', 'BASE_TYPE_MAX_LENGTH', 'Must be 2000 or fewer in length.') };
    const embeds = Array.isArray(body.embeds) ? body.embeds : [];
    if ((content ?? '') === '' && embeds.length === 0) return { status: 400, body: { message: 'Cannot send an empty message', code: 50006 } };
    const nonce = body.nonce;
    if (nonce !== undefined && (typeof nonce !== 'string' || nonce.length > 25)) return { status: 400, body: FakeDiscord.invalidFormBody('nonce', 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.') };
    const s = this.scripted();
    if (s) return s;
    if (body.enforce_nonce === true && typeof nonce === 'string') {
      const earlier = this.posts.find((p) => p.channel === channel && p.body.nonce === nonce);
      if (earlier) return { status: 200, body: { id: earlier.id, channel_id: channel, content: earlier.body.content ?? '', nonce } };
    }
    const id = String(this.snowflake += 11n);
    this.posts.push({ channel, body, id });
    if (!wait) return { status: 204, body: null };
    return { status: 200, body: { id, type: 0, channel_id: channel, content: content ?? '', embeds, timestamp: '2026-03-01T12:00:00.000000+00:00', ...(nonce ? { nonce } : {}) } };
  }

  protected answer(r: Received): Answer {
    if (r.method !== 'POST') return { status: 405, body: { message: '405: Method Not Allowed', code: 0 } };
    const [path, query = ''] = r.path.split('?');
    const hook = /^\/api\/webhooks\/(\d+)\/([^/]+)$/.exec(path);
    const body = LoopbackChat.json(r);
    if (hook) {
      const known = this.webhooks.get(hook[1]);
      if (!known) return { status: 404, body: { message: 'Unknown Webhook', code: 10015 } };
      if (known.token !== hook[2]) return { status: 401, body: { message: 'Invalid Webhook Token', code: 50027 } };
      if (!body) return { status: 400, body: { message: 'Cannot send an empty message', code: 50006 } };
      return this.create(known.channel, body, new URLSearchParams(query).get('wait') === 'true');
    }
    const channel = /^\/api\/v10\/channels\/(\d+)\/messages$/.exec(path);
    if (!channel) return { status: 404, body: { message: '404: Not Found', code: 0 } };
    if (r.headers.authorization !== `Bot ${this.botToken}`) return { status: 401, body: { message: '401: Unauthorized', code: 0 } };
    if (!this.channels.has(channel[1])) return { status: 404, body: { message: 'Unknown Channel', code: 10003 } };
    if (!body) return { status: 400, body: { message: 'Cannot send an empty message', code: 50006 } };
    return this.create(channel[1], body, true);
  }
}
