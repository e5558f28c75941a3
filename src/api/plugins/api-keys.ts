/**
 * Which of the environment's keys a presented key is, compared in constant time: both sides are
 * hashed to equal-length SHA-256 digests and compared with timingSafeEqual, so neither the
 * length nor the first differing byte of a key shows in the response time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ActiveKey, KeyKind, KeySource } from '../../store/api-keys.js';
import type { ApiKeys } from '../types.js';

export type { KeyKind };

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Whether two secrets are equal, in constant time (used for the provider-webhook token too). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Keys carrying a live `source` (store/api-keys.ts: the stored pair plus rotated-out keys still
 * in their grace period, kept current across `herald keys rotate`) are matched against it; a
 * plain pair (tests building the app directly) is matched as given.
 */
export function apiKeyMatcher(keys: ApiKeys & { source?: KeySource }, now: () => number = Date.now): (presented: string) => KeyKind | undefined {
  const fixed: ActiveKey[] = [{ kind: 'secret', key: keys.secret }, { kind: 'public', key: keys.public }];
  // Digests are computed once per distinct key list (the source hands out the same array until it changes).
  let seen: readonly ActiveKey[] | undefined;
  let digests: { kind: KeyKind; digest: Buffer; expiresAt?: number }[] = [];
  return (presented) => {
    const list = keys.source?.current() ?? fixed;
    if (list !== seen) {
      seen = list;
      digests = list.map((k) => ({ kind: k.kind, digest: digest(k.key), expiresAt: k.expiresAt?.getTime() }));
    }
    const d = digest(presented);
    const t = now();
    let kind: KeyKind | undefined;
    // Every comparison always runs, whichever key matches.
    for (const k of digests) {
      const equal = timingSafeEqual(d, k.digest);
      if (equal && kind === undefined && (k.expiresAt === undefined || t < k.expiresAt)) kind = k.kind;
    }
    return kind;
  };
}
