import { createHash } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import { httpCall, isRetryableStatus, verdict, type HttpAnswer } from './http-call.js';
import { combineTokenOutcomes, contentTokens, mapLimited, settingsError, type TokenOutcome } from './push-tokens.js';
import type { CallSummary, OutboundMessage, Provider, SendContext, SendResult } from './types.js';

/**
 * Push over Firebase Cloud Messaging, HTTP v1 API. Channel settings:
 * - `service_account`: the Google service-account key (the JSON object, or its text) with
 *   `project_id`, `client_email`, `private_key` and `token_uri` (default
 *   `https://oauth2.googleapis.com/token`);
 * - `base_url` (default `https://fcm.googleapis.com`).
 *
 * Auth is OAuth 2 with a self-signed RS256 JWT (`iss` client_email, `scope` firebase.messaging,
 * `aud` token_uri, one hour) exchanged at `token_uri` for an access token, kept in memory per
 * channel and key until five minutes before it expires (a cache only: any process fetches its
 * own). One `POST /v1/projects/{project_id}/messages:send` per token; `content` deliveries carry
 * `notification {title, body}` and `data`, `silent` ones only `data` plus an APNs
 * `content-available` background push. FCM data values must be strings: other values are sent as
 * JSON, and the keys FCM reserves (`from`, `notification`, `message_type`, `google…`, `gcm…`) are
 * left out.
 *
 * Errors: 404 `UNREGISTERED`, and 400 `INVALID_ARGUMENT` about the registration token, mark the
 * token invalid (removed from the channel data); 401 drops the access token, fetches a new one
 * and retries the call once; 408, 429, 5xx and network failures are retryable; any other status is
 * permanent. A token endpoint refusing the key (4xx) is permanent, its 5xx/429 retryable.
 */
interface ServiceAccount {
  project_id: string;
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri: string;
}

const DEFAULT_BASE_URL = 'https://fcm.googleapis.com';
const DEFAULT_TOKEN_URI = 'https://oauth2.googleapis.com/token';
const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const REFRESH_MARGIN_MS = 5 * 60_000;
const CONCURRENCY = 10;
/** FCM refuses these data keys. */
const RESERVED_DATA_KEY = /^(from|notification|message_type|google.*|gcm.*)$/i;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

function readServiceAccount(value: unknown): ServiceAccount | string {
  let v = value;
  if (typeof v === 'string') {
    try { v = JSON.parse(v); } catch { return 'fcm: setting "service_account" is not valid JSON'; }
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'fcm: setting "service_account" (the service-account JSON key) is required';
  const o = v as Record<string, unknown>;
  const missing = ['project_id', 'client_email', 'private_key'].filter((k) => !str(o[k]));
  if (missing.length > 0) return `fcm: service_account is missing ${missing.join(', ')}`;
  return {
    project_id: str(o.project_id)!,
    client_email: str(o.client_email)!,
    // Keys pasted through an environment variable often keep their newlines escaped.
    private_key: (o.private_key as string).replace(/\\n/g, '\n'),
    private_key_id: str(o.private_key_id),
    token_uri: str(o.token_uri) ?? DEFAULT_TOKEN_URI,
  };
}

interface CachedToken { token: string; refreshAt: number }
const tokens = new Map<string, CachedToken>();
const pending = new Map<string, Promise<AccessToken>>();

type AccessToken =
  | { ok: true; token: string }
  | { ok: false; kind: 'retryable' | 'permanent'; error: string; call: CallSummary };

function cacheKeyOf(channelId: string, sa: ServiceAccount): string {
  return channelId + ':' + createHash('sha256').update(`${sa.client_email}\n${sa.token_uri}\n${sa.private_key}`).digest('hex');
}

async function fetchAccessToken(sa: ServiceAccount, key: string): Promise<AccessToken> {
  let assertion: string;
  try {
    const signingKey = await importPKCS8(sa.private_key, 'RS256');
    const now = Math.floor(Date.now() / 1000);
    assertion = await new SignJWT({ scope: SCOPE })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(sa.private_key_id ? { kid: sa.private_key_id } : {}) })
      .setIssuer(sa.client_email)
      .setAudience(sa.token_uri)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(signingKey);
  } catch {
    const error = 'fcm: service_account.private_key is not a PKCS#8 RSA private key';
    return { ok: false, kind: 'permanent', error, call: settingsError(sa.token_uri, error).call };
  }
  const answer = await httpCall({
    method: 'POST',
    url: sa.token_uri,
    urlFrom: 'settings',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
    secretValues: [assertion],
  });
  const body = (answer.body ?? {}) as { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown };
  if (answer.status >= 200 && answer.status < 300 && typeof body.access_token === 'string' && body.access_token !== '') {
    const lifetimeMs = (typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 3600) * 1000;
    tokens.set(key, { token: body.access_token, refreshAt: Date.now() + Math.max(lifetimeMs - REFRESH_MARGIN_MS, lifetimeMs / 2) });
    return { ok: true, token: body.access_token };
  }
  // A success carries the access token in its body: never keep that in a log.
  const call: CallSummary = answer.status >= 200 && answer.status < 300 ? { ...answer.call, response: { ...answer.call.response, body: '[REDACTED]' } } : answer.call;
  const detail = answer.error
    ?? ([body.error, body.error_description].filter((x) => typeof x === 'string').join(': ')
      || (answer.status >= 200 && answer.status < 300 ? 'no access_token in the answer' : JSON.stringify(answer.body)?.slice(0, 200)));
  return {
    ok: false,
    kind: isRetryableStatus(answer.status) ? 'retryable' : 'permanent',
    error: `fcm: OAuth token request ${answer.status === 0 ? 'got no response' : `failed with HTTP ${answer.status}`}: ${detail}`,
    call,
  };
}

/** The cached access token, or a fresh one (one request at a time per key). */
function accessToken(sa: ServiceAccount, key: string, stale?: string): Promise<AccessToken> {
  const cached = tokens.get(key);
  if (cached && cached.token !== stale && cached.refreshAt > Date.now()) return Promise.resolve({ ok: true, token: cached.token });
  if (cached && (cached.token === stale || cached.refreshAt <= Date.now())) tokens.delete(key);
  let p = pending.get(key);
  if (!p) {
    p = fetchAccessToken(sa, key).finally(() => pending.delete(key));
    pending.set(key, p);
  }
  return p;
}

/** FCM data: a map of strings. */
function stringData(data: unknown): Record<string, string> {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) {
    if (v === undefined || RESERVED_DATA_KEY.test(k)) continue;
    out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

function fcmMessage(content: Record<string, unknown>, token: string): Record<string, unknown> {
  const data = stringData(content.data);
  if (content.delivery_type === 'silent') {
    return { token, data, apns: { headers: { 'apns-push-type': 'background', 'apns-priority': '5' }, payload: { aps: { 'content-available': 1 } } } };
  }
  const title = typeof content.title === 'string' ? content.title : '';
  const body = typeof content.body === 'string' ? content.body : '';
  return { token, notification: { title, body }, data };
}

interface FcmError { error?: { code?: number; message?: string; status?: string; details?: { '@type'?: string; errorCode?: string; fieldViolations?: { field?: string }[] }[] } }

function fcmErrorOf(body: unknown): { message: string; status?: string; errorCode?: string; tokenField: boolean } {
  const e = (body as FcmError | null)?.error;
  const details = Array.isArray(e?.details) ? e.details : [];
  const errorCode = details.find((d) => typeof d?.errorCode === 'string')?.errorCode;
  const tokenField = details.some((d) => Array.isArray(d?.fieldViolations) && d.fieldViolations.some((f) => f?.field === 'message.token'));
  return { message: typeof e?.message === 'string' ? e.message : '', status: e?.status, errorCode, tokenField };
}

function classify(answer: HttpAnswer, token: string, fallbackId: string): TokenOutcome {
  const e = fcmErrorOf(answer.body);
  const label = [e.errorCode ?? e.status, e.message].filter(Boolean).join(': ');
  if (answer.status === 404 && e.errorCode === 'UNREGISTERED') return { token, kind: 'invalid', error: `HTTP 404: ${label}` };
  if (answer.status === 400 && (e.errorCode === 'INVALID_ARGUMENT' || e.status === 'INVALID_ARGUMENT')
    && (e.tokenField || /registration token/i.test(e.message))) return { token, kind: 'invalid', error: `HTTP 400: ${label}` };
  const v = verdict(answer, (b) => (b as { name?: unknown } | null)?.name, fallbackId, () => label || undefined);
  return v.outcome === 'sent' ? { token, kind: 'sent', id: v.providerMessageId } : { token, kind: v.outcome, error: v.error };
}

export const fcmProvider: Provider = {
  name: 'fcm',
  serviceName: 'fcm',
  async send(message: OutboundMessage, context: SendContext): Promise<SendResult> {
    const s = context.channel.settings;
    const baseUrl = (str(s.base_url) ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    const sa = readServiceAccount(s.service_account);
    if (typeof sa === 'string') return settingsError(baseUrl, sa);
    const url = `${baseUrl}/v1/projects/${encodeURIComponent(sa.project_id)}/messages:send`;
    const list = contentTokens(message.content);
    if (list.length === 0) return settingsError(url, 'fcm: the message has no push tokens');
    const key = cacheKeyOf(context.channel.id, sa);

    const first = await accessToken(sa, key);
    if (!first.ok) return { outcome: first.kind, error: first.error, call: first.call };

    const perToken = await mapLimited(list, CONCURRENCY, async (token) => {
      const calls: CallSummary[] = [];
      let access: AccessToken = first;
      for (let round = 0; ; round += 1) {
        if (!access.ok) {
          calls.push(access.call);
          return { outcome: { token, kind: access.kind, error: access.error } as TokenOutcome, calls };
        }
        const bearer: string = access.token;
        const answer = await httpCall({
          method: 'POST',
          url,
          urlFrom: 'settings',
          headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json; charset=utf-8' },
          body: { message: fcmMessage(message.content, token) },
          secretValues: [bearer],
        });
        calls.push(answer.call);
        // An access token revoked or expired early: fetch another and try once more.
        if (answer.status === 401 && round === 0) {
          access = await accessToken(sa, key, bearer);
          continue;
        }
        return { outcome: classify(answer, token, `${message.id}:${token}`), calls };
      }
    });
    return combineTokenOutcomes(perToken.map((r) => r.outcome), perToken.flatMap((r) => r.calls), url);
  },
};
