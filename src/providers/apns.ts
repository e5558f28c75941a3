import { createHash } from 'node:crypto';
import http2 from 'node:http2';
import tls from 'node:tls';
import { importPKCS8, SignJWT } from 'jose';
import { isRetryableStatus } from './http-call.js';
import { combineTokenOutcomes, contentTokens, mapLimited, settingsError, type TokenOutcome } from './push-tokens.js';
import type { CallSummary, OutboundMessage, Provider, SendContext, SendResult } from './types.js';
import { inClientSpan } from '../telemetry/http-client.js';

/**
 * Push over Apple Push Notification service: HTTP/2 with token-based auth. Channel settings:
 * - `team_id`, `key_id` and `private_key` (the `.p8` signing key, PKCS#8 PEM);
 * - `bundle_id`: the `apns-topic`;
 * - `environment`: `production` (default) or `development` (the sandbox);
 * - `base_url` (default `https://api.push.apple.com`, or `https://api.sandbox.push.apple.com` in
 *   development);
 * - `ca`: an extra trusted CA certificate (PEM), for a gateway or a test server.
 *
 * The provider token is an ES256 JWT (`iss` team_id, `iat`, header `kid` key_id), reused for up
 * to 50 minutes (Apple refuses tokens older than an hour and too-frequent renewals). One
 * `POST /3/device/{token}` per token on one HTTP/2 connection per origin, with `apns-push-type`
 * `alert` (priority 10, `{aps: {alert: {title, body}}, ...data}`) or, for silent deliveries,
 * `background` (priority 5, `{aps: {content-available: 1}, ...data}`). `apns-id` is a UUID
 * (v5) derived from the message id and the token, so every attempt carries the same one.
 *
 * Errors: 410 (`Unregistered`) and 400 `BadDeviceToken` mark the token invalid (removed from the
 * channel data); 403 `ExpiredProviderToken` signs a new JWT and retries the call once; no
 * answer, 408, 429 and 5xx are retryable; any other status is permanent.
 */
interface ApnsSettings {
  team_id: string;
  key_id: string;
  private_key: string;
  bundle_id: string;
  origin: string;
  ca?: string;
}

const PRODUCTION = 'https://api.push.apple.com';
const SANDBOX = 'https://api.sandbox.push.apple.com';
const JWT_REUSE_MS = 50 * 60_000;
const TIMEOUT_MS = 15_000;
const IDLE_CLOSE_MS = 5 * 60_000;
const CONCURRENCY = 10;
const MAX_LOGGED_BODY = 8_192;
/** Namespace of the apns-id UUIDs (v5, SHA-1): any fixed UUID would do. */
const APNS_ID_NAMESPACE = Buffer.from('6f1d4a3c9b2e4f7a8c5d0e1f2a3b4c5d', 'hex');

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

function readSettings(s: Record<string, unknown>): ApnsSettings | { error: string; origin: string } {
  const origin = (str(s.base_url) ?? (s.environment === 'development' ? SANDBOX : PRODUCTION)).replace(/\/+$/, '');
  const missing = ['team_id', 'key_id', 'private_key', 'bundle_id'].filter((k) => !str(s[k]));
  if (missing.length > 0) return { error: `apns: missing setting${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, origin };
  try {
    const u = new URL(origin);
    if (u.protocol !== 'https:') return { error: 'apns: base_url must be https', origin };
  } catch {
    return { error: 'apns: base_url is not a URL', origin };
  }
  return {
    team_id: str(s.team_id)!,
    key_id: str(s.key_id)!,
    private_key: (s.private_key as string).replace(/\\n/g, '\n'),
    bundle_id: str(s.bundle_id)!,
    origin,
    ca: str(s.ca),
  };
}

/** A UUID v5 of the message id and the token: a retry of the same push carries the same apns-id. */
export function apnsIdFor(messageId: string, token: string): string {
  const b = createHash('sha1').update(APNS_ID_NAMESPACE).update(`${messageId}:${token}`).digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Provider tokens by team, key and signing key.
const jwts = new Map<string, { jwt: string; issuedAt: number }>();

async function providerToken(s: ApnsSettings, stale?: string): Promise<string | null> {
  const key = createHash('sha256').update(`${s.team_id}\n${s.key_id}\n${s.private_key}`).digest('hex');
  const cached = jwts.get(key);
  if (cached && cached.jwt !== stale && Date.now() - cached.issuedAt < JWT_REUSE_MS) return cached.jwt;
  let signingKey: CryptoKey;
  try {
    signingKey = await importPKCS8(s.private_key, 'ES256');
  } catch {
    return null;
  }
  const issuedAt = Date.now();
  const jwt = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: s.key_id }).setIssuer(s.team_id).setIssuedAt(Math.floor(issuedAt / 1000)).sign(signingKey);
  const again = jwts.get(key);
  // Another send renewed it meanwhile: keep one token in use.
  if (again && again.jwt !== stale && again.jwt !== cached?.jwt) return again.jwt;
  jwts.set(key, { jwt, issuedAt });
  return jwt;
}

// One HTTP/2 connection per origin and CA, reused for every push until it closes or idles.
const sessions = new Map<string, http2.ClientHttp2Session>();

function sessionFor(origin: string, ca: string | undefined): http2.ClientHttp2Session {
  const key = `${origin}\n${ca ?? ''}`;
  const existing = sessions.get(key);
  if (existing && !existing.closed && !existing.destroyed) return existing;
  const session = http2.connect(origin, ca ? { ca: [...tls.rootCertificates, ca] } : {});
  const forget = () => { if (sessions.get(key) === session) sessions.delete(key); };
  session.on('error', forget);
  session.on('close', forget);
  session.on('goaway', forget);
  session.setTimeout(IDLE_CLOSE_MS, () => session.close());
  session.unref();
  sessions.set(key, session);
  return session;
}

interface H2Answer { status: number; headers: Record<string, string>; body: string; error: string | null }

function post(origin: string, ca: string | undefined, path: string, headers: Record<string, string>, body: string): Promise<H2Answer> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (a: H2Answer) => { if (!settled) { settled = true; resolve(a); } };
    const fail = (error: string) => done({ status: 0, headers: {}, body: '', error });
    let req: http2.ClientHttp2Stream;
    try {
      req = sessionFor(origin, ca).request({ ':method': 'POST', ':path': path, ...headers });
    } catch (err) {
      fail((err as Error).message);
      return;
    }
    let status = 0;
    let resHeaders: Record<string, string> = {};
    const chunks: Buffer[] = [];
    req.setTimeout(TIMEOUT_MS, () => {
      fail(`timed out after ${TIMEOUT_MS} ms`);
      req.close(http2.constants.NGHTTP2_CANCEL);
    });
    req.on('response', (h) => {
      status = Number(h[':status'] ?? 0);
      resHeaders = Object.fromEntries(Object.entries(h).filter(([k]) => !k.startsWith(':')).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => done(status === 0
      ? { status: 0, headers: {}, body: '', error: 'stream ended without a response' }
      : { status, headers: resHeaders, body: Buffer.concat(chunks).toString('utf8'), error: null }));
    req.on('error', (err: Error & { code?: string }) => fail(err.code ?? err.message));
    req.end(body);
  });
}

function parse(text: string): unknown {
  if (text === '') return '';
  try { return JSON.parse(text); } catch { return text.slice(0, MAX_LOGGED_BODY); }
}

function payloadFor(content: Record<string, unknown>): { pushType: 'alert' | 'background'; body: Record<string, unknown> } {
  const data = content.data && typeof content.data === 'object' && !Array.isArray(content.data) ? content.data as Record<string, unknown> : {};
  if (content.delivery_type === 'silent') return { pushType: 'background', body: { ...data, aps: { 'content-available': 1 } } };
  const title = typeof content.title === 'string' ? content.title : '';
  const body = typeof content.body === 'string' ? content.body : '';
  return { pushType: 'alert', body: { ...data, aps: { alert: { title, body } } } };
}

export const apnsProvider: Provider = {
  name: 'apns',
  serviceName: 'apns',
  async send(message: OutboundMessage, context: SendContext): Promise<SendResult> {
    const s = readSettings(context.channel.settings);
    if ('error' in s) return settingsError(`${s.origin}/3/device/`, s.error);
    const list = contentTokens(message.content);
    if (list.length === 0) return settingsError(`${s.origin}/3/device/`, 'apns: the message has no push tokens');
    const first = await providerToken(s);
    if (!first) return settingsError(`${s.origin}/3/device/`, 'apns: private_key is not a PKCS#8 P-256 (.p8) key');
    const { pushType, body } = payloadFor(message.content);
    const text = JSON.stringify(body);
    const host = new URL(s.origin).host;

    const perToken = await mapLimited(list, CONCURRENCY, async (token) => {
      const calls: CallSummary[] = [];
      const path = `/3/device/${encodeURIComponent(token)}`;
      const apnsId = apnsIdFor(message.id, token);
      const headers = {
        'apns-topic': s.bundle_id,
        'apns-push-type': pushType,
        'apns-id': apnsId,
        'apns-priority': pushType === 'background' ? '5' : '10',
        'content-type': 'application/json',
      };
      let jwt = first;
      for (let round = 0; ; round += 1) {
        const sent = { authorization: `bearer ${jwt}`, ...headers };
        // A client span when tracing is on (the device token is left out of its path).
        const answer = await inClientSpan({ method: 'POST', url: new URL(path, s.origin), headers: sent, path: '/3/device/{token}' },
          () => post(s.origin, s.ca, path, sent, text), (a) => ({ status: a.status, error: a.error }));
        const parsed = parse(answer.body);
        calls.push({
          request: { method: 'POST', host, path, query: null, headers: { authorization: '[REDACTED]', ...headers }, body },
          response: answer.status === 0
            ? { status: 0, headers: {}, body: `no response: ${answer.error}` }
            : { status: answer.status, headers: answer.headers, body: parsed as string | Record<string, unknown> },
        });
        const reason = typeof (parsed as { reason?: unknown } | null)?.reason === 'string' ? (parsed as { reason: string }).reason : '';
        if (answer.status === 403 && reason === 'ExpiredProviderToken' && round === 0) {
          const fresh = await providerToken(s, jwt);
          if (fresh) { jwt = fresh; continue; }
        }
        let outcome: TokenOutcome;
        if (answer.status === 200) outcome = { token, kind: 'sent', id: answer.headers['apns-id'] ?? apnsId };
        else if (answer.status === 410 || (answer.status === 400 && reason === 'BadDeviceToken')) outcome = { token, kind: 'invalid', error: `HTTP ${answer.status}: ${reason || 'Unregistered'}` };
        else {
          const error = answer.status === 0 ? `no response: ${answer.error}` : `HTTP ${answer.status}: ${reason || answer.body.slice(0, 200)}`;
          outcome = { token, kind: isRetryableStatus(answer.status) ? 'retryable' : 'permanent', error };
        }
        return { outcome, calls };
      }
    });
    return combineTokenOutcomes(perToken.map((r) => r.outcome), perToken.flatMap((r) => r.calls), `${s.origin}/3/device/`);
  },
};
