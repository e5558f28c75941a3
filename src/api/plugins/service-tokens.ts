/**
 * Which service token a presented bearer token is, compared in constant time: the presented
 * token is hashed (the store keeps only SHA-256 digests, store/service-tokens.ts) and compared
 * with timingSafeEqual against every accepted digest, whichever matches.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AcceptedServiceToken, ServiceTokenSource } from '../../store/service-tokens.js';

/** Returns the matching token's name, or undefined (no source = no token is accepted). */
export function serviceTokenMatcher(source: ServiceTokenSource | undefined, now: () => number = Date.now): (presented: string) => string | undefined {
  let seen: readonly AcceptedServiceToken[] | undefined;
  let digests: { name: string; digest: Buffer; expiresAt?: number }[] = [];
  return (presented) => {
    if (!source) return undefined;
    const list = source.current();
    if (list !== seen) {
      seen = list;
      digests = list.map((t) => ({ name: t.name, digest: Buffer.from(t.hash, 'hex'), expiresAt: t.expiresAt?.getTime() }));
    }
    const d = createHash('sha256').update(presented, 'utf8').digest();
    const t = now();
    let name: string | undefined;
    for (const k of digests) {
      const equal = k.digest.length === d.length && timingSafeEqual(d, k.digest);
      if (equal && name === undefined && (k.expiresAt === undefined || t < k.expiresAt)) name = k.name;
    }
    return name;
  };
}
