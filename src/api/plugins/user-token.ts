/**
 * Verifies Knock user tokens (RS256 JWTs from `signUserToken` or any JWT library) and reads their
 * grants. Shared by the HTTP auth hook (`X-Knock-User-Token`) and the realtime socket
 * (`user_token` query parameter). Expiry is checked against Herald's clock, so it is the same
 * clock that stamps messages, and tests can move it.
 */
import { importSPKI, jwtVerify, type CryptoKey } from 'jose';
import type { Clock } from '../../domain/clock.js';
import { errors } from '../../domain/errors.js';
import { grantsFromClaims, type UserGrants } from '../../domain/user-grants.js';

export type UserTokenVerifier = (token: string) => Promise<UserGrants>;

/** `pem` is the signing key's public half (SPKI PEM, or that PEM base64-encoded as Knock shows it). */
export function createUserTokenVerifier(pem: string, clock: Clock): UserTokenVerifier {
  const text = pem.trim().startsWith('-----BEGIN') ? pem : Buffer.from(pem, 'base64').toString('utf8');
  let key: Promise<CryptoKey> | undefined;
  return async (token) => {
    key ??= importSPKI(text, 'RS256');
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, await key, { algorithms: ['RS256'], currentDate: clock.now() }));
    } catch (e) {
      throw errors.invalidUserToken((e as Error).message);
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
