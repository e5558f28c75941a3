/**
 * Loopback stand-ins for the push providers, checking requests the way the real services do and
 * answering with their real success and error shapes:
 * - FakeFcm: Google's OAuth token endpoint (verifies the JWT assertion's RS256 signature with the
 *   service account's public key) and FCM HTTP v1 `messages:send` (requires an issued token);
 * - FakeApns: APNs over HTTP/2 + TLS (verifies the ES256 provider token with the .p8 key's public
 *   half, the topic, push type, priority, apns-id and payload);
 * - FakeExpo: Expo's `/--/api/v2/push/send` (optional access token, per-message tickets).
 */
import http from 'node:http';
import http2 from 'node:http2';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, jwtVerify } from 'jose';

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
  res.end(JSON.stringify(body));
}

const flatHeaders = (h: http.IncomingHttpHeaders | http2.IncomingHttpHeaders): Record<string, string> =>
  Object.fromEntries(Object.entries(h).filter(([k]) => !k.startsWith(':')).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));

abstract class LoopbackHttp {
  protected server = http.createServer((req, res) => {
    readBody(req).then((text) => this.handle(req, res, text)).catch((err) => sendJson(res, 500, { error: String(err) }));
  });
  port = 0;
  get origin() { return `http://127.0.0.1:${this.port}`; }
  protected abstract handle(req: http.IncomingMessage, res: http.ServerResponse, text: string): Promise<void>;
  async start() {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }
  close() {
    this.server.closeAllConnections();
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------- FCM

export interface FcmAccount { projectId: string; clientEmail: string; publicKey: KeyObject }

export class FakeFcm extends LoopbackHttp {
  readonly tokenRequests: { assertion: string; claims: Record<string, unknown> }[] = [];
  readonly sends: Received[] = [];
  /** Access tokens this server issued and still accepts. */
  readonly issued = new Set<string>();
  /** Statuses answered to the next sends instead of accepting them (503, 429, 500). */
  script: number[] = [];
  /** Tokens FCM no longer knows (404 UNREGISTERED). */
  unregistered = new Set<string>();

  constructor(private account: FcmAccount) { super(); }

  get tokenUri() { return `${this.origin}/token`; }

  /** Every issued access token stops working, as when Google revokes them. */
  revokeAccessTokens() { this.issued.clear(); }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse, text: string) {
    const url = new URL(req.url ?? '/', this.origin);
    if (req.method === 'POST' && url.pathname === '/token') return this.token(req, res, text);
    const m = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(url.pathname);
    if (req.method === 'POST' && m) return this.send(req, res, decodeURIComponent(m[1]), text);
    sendJson(res, 404, { error: { code: 404, message: 'Not Found', status: 'NOT_FOUND' } });
  }

  private async token(req: http.IncomingMessage, res: http.ServerResponse, text: string) {
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return sendJson(res, 400, { error: 'invalid_request', error_description: 'Bad Request' });
    }
    const form = new URLSearchParams(text);
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      return sendJson(res, 400, { error: 'unsupported_grant_type', error_description: 'Invalid grant_type: ' + form.get('grant_type') });
    }
    const assertion = form.get('assertion') ?? '';
    try {
      const { payload, protectedHeader } = await jwtVerify(assertion, this.account.publicKey, {
        algorithms: ['RS256'], issuer: this.account.clientEmail, audience: this.tokenUri, requiredClaims: ['iat', 'exp'],
      });
      if (protectedHeader.typ !== 'JWT') throw new Error('typ');
      if (typeof payload.scope !== 'string' || !payload.scope.split(' ').includes('https://www.googleapis.com/auth/firebase.messaging')) throw new Error('scope');
      if (payload.exp! - payload.iat! > 3600) throw new Error('lifetime');
      this.tokenRequests.push({ assertion, claims: payload as Record<string, unknown> });
    } catch {
      return sendJson(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
    }
    const token = `ya29.${randomBytes(24).toString('base64url')}`;
    this.issued.add(token);
    sendJson(res, 200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
  }

  private async send(req: http.IncomingMessage, res: http.ServerResponse, project: string, text: string) {
    const auth = req.headers.authorization ?? '';
    const bearer = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (!this.issued.has(bearer)) {
      return sendJson(res, 401, { error: { code: 401, message: 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.', status: 'UNAUTHENTICATED' } });
    }
    if (project !== this.account.projectId) {
      return sendJson(res, 403, { error: { code: 403, message: `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${project}'`, status: 'PERMISSION_DENIED' } });
    }
    const badRequest = (field: string, description: string) => sendJson(res, 400, {
      error: { code: 400, message: description, status: 'INVALID_ARGUMENT', details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field, description }] }] },
    });
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return badRequest('', 'Invalid JSON payload received.');
    let body: unknown;
    try { body = JSON.parse(text); } catch { return badRequest('', 'Invalid JSON payload received.'); }
    this.sends.push({ path: req.url ?? '', headers: flatHeaders(req.headers), body });
    if (!isRecord(body) || !isRecord(body.message)) return badRequest('message', 'Invalid JSON payload received. Required field "message".');
    const msg = body.message;
    const unknown = Object.keys(msg).filter((k) => !['token', 'notification', 'data', 'android', 'apns', 'webpush', 'fcm_options'].includes(k));
    if (unknown.length > 0) return badRequest(`message.${unknown[0]}`, `Invalid JSON payload received. Unknown name "${unknown[0]}" at 'message': Cannot find field.`);
    if (typeof msg.token !== 'string' || msg.token === '') return badRequest('message.token', 'Recipient of the message is not set.');
    if (msg.notification !== undefined && (!isRecord(msg.notification) || Object.values(msg.notification).some((v) => typeof v !== 'string'))) {
      return badRequest('message.notification', "Invalid value at 'message.notification'");
    }
    if (msg.data !== undefined) {
      if (!isRecord(msg.data)) return badRequest('message.data', "Invalid value at 'message.data'");
      const entries = Object.entries(msg.data);
      const bad = entries.findIndex(([, v]) => typeof v !== 'string');
      if (bad >= 0) return badRequest(`message.data[${bad}].value`, `Invalid value at 'message.data[${bad}].value' (TYPE_STRING), ${JSON.stringify(entries[bad][1])}`);
      const reserved = entries.find(([k]) => /^(from|notification|message_type|google.*|gcm.*)$/i.test(k));
      if (reserved) return badRequest('message.data', `Invalid data payload key: ${reserved[0]}`);
    }
    const scripted = this.script.shift();
    if (scripted !== undefined && scripted !== 200) {
      const status = scripted === 429 ? 'RESOURCE_EXHAUSTED' : scripted === 503 ? 'UNAVAILABLE' : 'INTERNAL';
      const errorCode = scripted === 429 ? 'QUOTA_EXCEEDED' : scripted === 503 ? 'UNAVAILABLE' : 'INTERNAL';
      return sendJson(res, scripted, { error: { code: scripted, message: 'The service is currently unavailable.', status, details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] } });
    }
    if (!/^[A-Za-z0-9_:-]{20,}$/.test(msg.token)) {
      return sendJson(res, 400, { error: { code: 400, message: 'The registration token is not a valid FCM registration token', status: 'INVALID_ARGUMENT', details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'INVALID_ARGUMENT' }] } });
    }
    if (this.unregistered.has(msg.token)) {
      return sendJson(res, 404, { error: { code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND', details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }] } });
    }
    sendJson(res, 200, { name: `projects/${project}/messages/0:${Date.now()}%${randomBytes(8).toString('hex')}` });
  }
}

// ---------------------------------------------------------------- APNs

/** A self-signed certificate for 127.0.0.1, made with openssl. */
export function selfSignedCert(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'herald-apns-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ApnsAccount { teamId: string; keyId: string; bundleId: string; publicKey: KeyObject }

export class FakeApns {
  readonly received: Received[] = [];
  /** Statuses answered to the next pushes instead of accepting them (503, 429, 500). */
  script: number[] = [];
  /** Device tokens no longer registered (410 Unregistered). */
  unregistered = new Set<string>();
  private sessions = new Set<http2.ServerHttp2Session>();
  private server: http2.Http2SecureServer;
  port = 0;

  constructor(private account: ApnsAccount, tlsPair: { key: string; cert: string }) {
    this.server = http2.createSecureServer({ key: tlsPair.key, cert: tlsPair.cert });
    this.server.on('session', (s) => {
      this.sessions.add(s);
      s.on('close', () => this.sessions.delete(s));
    });
    this.server.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        this.handle(stream, headers, Buffer.concat(chunks).toString('utf8')).catch(() => this.answer(stream, 500, { reason: 'InternalServerError' }));
      });
    });
  }

  get origin() { return `https://127.0.0.1:${this.port}`; }

  async start() {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  close() {
    for (const s of this.sessions) s.destroy();
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private answer(stream: http2.ServerHttp2Stream, status: number, body: Record<string, unknown> | null, headers: Record<string, string> = {}) {
    if (stream.destroyed) return;
    stream.respond({ ':status': status, ...(body ? { 'content-type': 'application/json' } : {}), ...headers });
    stream.end(body ? JSON.stringify(body) : undefined);
  }

  private async handle(stream: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders, text: string) {
    const apnsId = typeof h['apns-id'] === 'string' ? h['apns-id'] : undefined;
    const fail = (status: number, reason: string, extra: Record<string, unknown> = {}) =>
      this.answer(stream, status, { reason, ...extra }, apnsId ? { 'apns-id': apnsId } : {});
    const m = /^\/3\/device\/([^/?]+)$/.exec(String(h[':path']));
    if (h[':method'] !== 'POST') return fail(405, 'MethodNotAllowed');
    if (!m) return fail(404, 'BadPath');
    let body: unknown;
    try { body = JSON.parse(text); } catch { body = text; }
    this.received.push({ path: String(h[':path']), headers: flatHeaders(h), body });

    const auth = String(h.authorization ?? '');
    if (!auth.startsWith('bearer ')) return fail(403, 'MissingProviderToken');
    try {
      const jwt = auth.slice(7);
      if (decodeProtectedHeader(jwt).kid !== this.account.keyId) throw new Error('kid');
      await jwtVerify(jwt, this.account.publicKey, { algorithms: ['ES256'], issuer: this.account.teamId, requiredClaims: ['iat'], maxTokenAge: '1h' });
    } catch {
      return fail(403, 'InvalidProviderToken');
    }
    if (!h['apns-topic']) return fail(400, 'MissingTopic');
    if (h['apns-topic'] !== this.account.bundleId) return fail(400, 'TopicDisallowed');
    const pushType = h['apns-push-type'];
    if (pushType !== 'alert' && pushType !== 'background') return fail(400, 'InvalidPushType');
    const priority = h['apns-priority'] ?? '10';
    if (!['5', '10'].includes(String(priority)) || (pushType === 'background' && priority !== '5')) return fail(400, 'BadPriority');
    if (apnsId !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(apnsId)) return fail(400, 'BadMessageId');
    if (text === '') return fail(400, 'PayloadEmpty');
    if (!isRecord(body) || !isRecord(body.aps)) return fail(400, 'BadPayload');
    if (pushType === 'alert' && !body.aps.alert) return fail(400, 'BadPayload');
    if (pushType === 'background' && (body.aps['content-available'] !== 1 || body.aps.alert !== undefined)) return fail(400, 'BadPayload');
    const scripted = this.script.shift();
    if (scripted !== undefined && scripted !== 200) return fail(scripted, scripted === 429 ? 'TooManyRequests' : scripted === 503 ? 'ServiceUnavailable' : 'InternalServerError');
    const token = decodeURIComponent(m[1]);
    if (!/^[0-9a-f]{64}$/i.test(token)) return fail(400, 'BadDeviceToken');
    if (this.unregistered.has(token)) return fail(410, 'Unregistered', { timestamp: Date.now() });
    this.answer(stream, 200, null, { 'apns-id': apnsId ?? randomUUID() });
  }
}

// ---------------------------------------------------------------- Expo

export class FakeExpo extends LoopbackHttp {
  readonly received: Received[] = [];
  /** Statuses answered to the next requests instead of accepting them (503, 429). */
  script: number[] = [];
  /** Tokens Expo reports DeviceNotRegistered. */
  unregistered = new Set<string>();

  /** With an access token, requests must carry it (enhanced push security). */
  constructor(private accessToken?: string) { super(); }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse, text: string) {
    const url = new URL(req.url ?? '/', this.origin);
    if (req.method !== 'POST' || url.pathname !== '/--/api/v2/push/send') {
      return sendJson(res, 404, { errors: [{ code: 'NOT_FOUND', message: 'Not found' }] });
    }
    let body: unknown;
    try { body = JSON.parse(text); } catch { body = text; }
    this.received.push({ path: url.pathname, headers: flatHeaders(req.headers), body });
    if (this.accessToken !== undefined && req.headers.authorization !== `Bearer ${this.accessToken}`) {
      return sendJson(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'The bearer token is invalid.' }] });
    }
    const invalid = (message: string) => sendJson(res, 400, { errors: [{ code: 'VALIDATION_ERROR', message, isTransient: false }] });
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return invalid('"value" must be of type object or array');
    const messages = Array.isArray(body) ? body : [body];
    if (messages.length === 0 || messages.length > 100) return invalid('"value" must contain between 1 and 100 items');
    for (const [i, msg] of messages.entries()) {
      if (!isRecord(msg)) return invalid(`"[${i}]" must be of type object`);
      if (typeof msg.to !== 'string' && !Array.isArray(msg.to)) return invalid(`"[${i}].to" is required`);
      for (const k of ['title', 'body', 'sound'] as const) if (msg[k] !== undefined && typeof msg[k] !== 'string') return invalid(`"[${i}].${k}" must be a string`);
      if (msg.data !== undefined && !isRecord(msg.data)) return invalid(`"[${i}].data" must be of type object`);
      if (msg._contentAvailable !== undefined && typeof msg._contentAvailable !== 'boolean') return invalid(`"[${i}]._contentAvailable" must be a boolean`);
    }
    const scripted = this.script.shift();
    if (scripted !== undefined && scripted !== 200) {
      return sendJson(res, scripted, { errors: [{ code: scripted === 429 ? 'TOO_MANY_REQUESTS' : 'INTERNAL_SERVER_ERROR', message: 'try again later', isTransient: true }] });
    }
    const tickets = messages.map((msg) => {
      const to = String((msg as { to: unknown }).to);
      if (!/^Expo(nent)?PushToken\[.+\]$/.test(to) || this.unregistered.has(to)) {
        return { status: 'error', message: `"${to}" is not a registered push notification recipient`, details: { error: 'DeviceNotRegistered', expoPushToken: to } };
      }
      return { status: 'ok', id: randomUUID() };
    });
    sendJson(res, 200, { data: tickets });
  }
}
