/**
 * Signed tokens of email tracking URLs. A token is `<payload>.<mac>`: the payload is base64url
 * JSON naming what the URL does (a click on link `index` of message `messageId` in environment
 * `environment`, leading to `url`; or an open of that message), and the mac is HMAC-SHA256 of
 * the payload under the install's tracking secret. Changing any character of either part (a
 * swapped URL, another message id) makes the mac wrong, so a click redirect only ever leads to
 * a URL that was in that message: no open redirect. Verification compares macs in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The longest token Herald makes or reads (the router refuses path parameters above 3,060). */
export const TOKEN_MAX_CHARS = 3_000;

export interface ClickClaims {
  kind: 'click';
  environment: string;
  messageId: string;
  index: number;
  url: string;
}

export interface OpenClaims {
  kind: 'open';
  environment: string;
  messageId: string;
}

export type TrackingClaims = ClickClaims | OpenClaims;

const MAC_CHARS = 43; // base64url of 32 bytes, unpadded

function mac(key: Buffer, payload: string): string {
  // The prefix separates these macs from any other use of the same key.
  return createHmac('sha256', key).update('herald-tracking-v1.').update(payload).digest('base64url');
}

/** The token for these claims; null when it would be longer than TOKEN_MAX_CHARS (a very long URL). */
export function signTrackingToken(key: Buffer, claims: TrackingClaims): string | null {
  const tuple = claims.kind === 'click'
    ? ['c', claims.environment, claims.messageId, claims.index, claims.url]
    : ['o', claims.environment, claims.messageId];
  const payload = Buffer.from(JSON.stringify(tuple), 'utf8').toString('base64url');
  const token = `${payload}.${mac(key, payload)}`;
  return token.length <= TOKEN_MAX_CHARS ? token : null;
}

/** The claims of a token made with `key`, or null for anything else (malformed, tampered, too long). */
export function verifyTrackingToken(key: Buffer, token: string): TrackingClaims | null {
  if (token.length > TOKEN_MAX_CHARS) return null;
  const dot = token.lastIndexOf('.');
  if (dot <= 0 || token.length - dot - 1 !== MAC_CHARS) return null;
  const payload = token.slice(0, dot);
  if (!/^[A-Za-z0-9_-]+$/.test(payload)) return null;
  const given = Buffer.from(token.slice(dot + 1), 'utf8');
  const expected = Buffer.from(mac(key, payload), 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let tuple: unknown;
  try {
    tuple = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(tuple) || typeof tuple[1] !== 'string' || typeof tuple[2] !== 'string') return null;
  if (tuple[0] === 'o' && tuple.length === 3) return { kind: 'open', environment: tuple[1], messageId: tuple[2] };
  if (tuple[0] === 'c' && tuple.length === 5 && Number.isSafeInteger(tuple[3]) && typeof tuple[4] === 'string') {
    return { kind: 'click', environment: tuple[1], messageId: tuple[2], index: tuple[3] as number, url: tuple[4] };
  }
  return null;
}
