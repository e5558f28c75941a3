/**
 * User tokens for tests. The SDK's `signUserToken` stamps `iat`/`exp` with the real time, and
 * Herald checks them against ITS clock (a ManualClock in tests, often months away from today):
 * `signUserTokenAt` signs the same claims as the SDK, timed by the Herald's clock. `signClaimsAt`
 * signs any claims (explicit_grants, missing exp, future iat) for the tests that need them.
 */
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, importPKCS8 } from 'jose';
import type { TokenGrant } from '@knocklabs/node';
import type { Clock } from '../../src/domain/clock.js';

export interface SigningKeys {
  /** What Herald is configured with (HERALD_SIGNING_PUBLIC_KEY). */
  signingPublicKey: string;
  /** What the application's backend signs with. */
  signingKey: string;
}

export function newSigningKeys(): SigningKeys {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    signingPublicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    signingKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

const seconds = (clock: Clock) => Math.floor(clock.now().getTime() / 1000);

/** Claims exactly as given (no iat or exp added), signed RS256 like Knock's tokens. */
export async function signClaims(signingKey: string, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).sign(await importPKCS8(signingKey, 'RS256'));
}

/** `claims` with `iat` = the clock's now and `exp` = now + expiresInSeconds (default an hour). */
export async function signClaimsAt(clock: Clock, signingKey: string, claims: Record<string, unknown>, expiresInSeconds = 3600): Promise<string> {
  const iat = seconds(clock);
  return signClaims(signingKey, { iat, exp: iat + expiresInSeconds, ...claims });
}

/** What `signUserToken(userId, {signingKey, grants, expiresInSeconds})` signs, timed by `clock`. */
export async function signUserTokenAt(clock: Clock, userId: string, opts: { signingKey: string; grants?: TokenGrant[]; expiresInSeconds?: number }): Promise<string> {
  const grants = opts.grants?.reduce<Record<string, Record<string, unknown>>>((acc, g) => ({ ...acc, [g.entity]: { ...acc[g.entity], ...g.grants } }), {});
  return signClaimsAt(clock, opts.signingKey, { sub: userId, ...(grants ? { grants } : {}) }, opts.expiresInSeconds);
}
