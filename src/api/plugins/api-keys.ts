/**
 * Which of the environment's keys a presented key is, compared in constant time: both sides are
 * hashed to equal-length SHA-256 digests and compared with timingSafeEqual, so neither the
 * length nor the first differing byte of a key shows in the response time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKeys } from '../types.js';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Whether two secrets are equal, in constant time (used for the provider-webhook token too). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export type KeyKind = 'secret' | 'public';

export function apiKeyMatcher(keys: ApiKeys): (presented: string) => KeyKind | undefined {
  const secret = digest(keys.secret);
  const pub = digest(keys.public);
  return (presented) => {
    const d = digest(presented);
    // Both comparisons always run.
    const isSecret = timingSafeEqual(d, secret);
    const isPublic = timingSafeEqual(d, pub);
    return isSecret ? 'secret' : isPublic ? 'public' : undefined;
  };
}
