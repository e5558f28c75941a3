/**
 * Verifies Knock user tokens (RS256 JWTs from `signUserToken` or any JWT library) and reads their
 * grants. Shared by the HTTP auth hook (`X-Knock-User-Token`, or `?user_token=` on routes that
 * allow the query string) and the realtime socket. Times are checked against Herald's clock, so
 * it is the same clock that stamps messages, and tests can move it.
 *
 * A token must say when it expires (`exp`): a token without one would be valid forever, and a
 * leaked browser token could never be retired. Clocks of the signer and Herald may disagree by
 * up to USER_TOKEN_CLOCK_SKEW_SECONDS either way: a token is accepted until `exp` + skew, and
 * refused when it claims to be issued (`iat`) more than skew in the future.
 */
import { importSPKI, jwtVerify, type CryptoKey } from 'jose';
import type { Clock } from '../../domain/clock.js';
import { errors } from '../../domain/errors.js';
import { grantsFromClaims, USER_TOKEN_CLOCK_SKEW_SECONDS, type UserGrants } from '../../domain/user-grants.js';

export type UserTokenVerifier = (token: string) => Promise<UserGrants>;

/** `pem` is the signing key's public half (SPKI PEM, or that PEM base64-encoded as Knock shows it). */
export function createUserTokenVerifier(pem: string, clock: Clock): UserTokenVerifier {
  const text = pem.trim().startsWith('-----BEGIN') ? pem : Buffer.from(pem, 'base64').toString('utf8');
  let key: Promise<CryptoKey> | undefined;
  return async (token) => {
    key ??= importSPKI(text, 'RS256');
    const now = clock.now();
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, await key, {
        algorithms: ['RS256'],
        currentDate: now,
        requiredClaims: ['exp'],
        clockTolerance: USER_TOKEN_CLOCK_SKEW_SECONDS,
      }));
    } catch (e) {
      throw errors.invalidUserToken((e as Error).message);
    }
    if (typeof payload.iat === 'number' && payload.iat > now.getTime() / 1000 + USER_TOKEN_CLOCK_SKEW_SECONDS) {
      throw errors.invalidUserToken('"iat" claim timestamp check failed (it is in the future)');
    }
    const grants = grantsFromClaims(payload);
    if (typeof grants === 'string') throw errors.invalidUserToken(grants);
    return grants;
  };
}

/** The socket sends absent parameters as empty or literal "null"/"undefined" strings. */
export function presentParam(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value === '' || value === 'null' || value === 'undefined' ? undefined : value;
}
