/**
 * Dashboard sessions: who signed in, for which environment, until when — carried entirely in a
 * signed cookie (no session table), so every process sharing the database accepts it and the
 * listening server can read it before Fastify runs (to hand a request to the session's
 * environment, herald.ts).
 *
 * The cookie holds the environment, how the session was opened (an environment's secret key, or
 * HERALD_DASHBOARD_TOKEN), its expiry, and a fingerprint of the credential (an HMAC, never the
 * credential): a session ends as soon as its credential stops being accepted — the secret key
 * rotated out (after its grace period) or revoked, or the dashboard token changed.
 *
 * Signed with @fastify/cookie's signer (HMAC-SHA256) and the install's `dashboard_session`
 * secret (store/install-secrets.ts), the same for every process of the install.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { fastifyCookie } from '@fastify/cookie';
import type { KeySource } from '../../store/api-keys.js';

export const SESSION_COOKIE = 'herald_dashboard';
/** A session lasts 12 hours; then the dashboard asks to sign in again. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

export type SessionCredential = 'secret_key' | 'dashboard_token';

export interface DashboardSession {
  environment: string;
  credential: SessionCredential;
  /** HMAC of the credential under the install secret: which key (or token) opened it. */
  fingerprint: string;
  expiresAt: number;
}

/** An environment as the dashboard sessions see it: its slug and its accepted secret keys. */
export interface SessionEnvironment {
  slug: string;
  keys: { secret: string; source?: KeySource };
}

export interface DashboardSessions {
  /** Slugs in promotion order (the first is the default). */
  readonly slugs: readonly string[];
  /** True when HERALD_DASHBOARD_TOKEN is configured. */
  readonly tokenConfigured: boolean;
  /** A new session for a credential, or undefined when it is not one (any other key, token or text). */
  signIn(token: string, environment?: string): DashboardSession | undefined | 'unknown_environment';
  /** The same session moved to another environment (callers check it may switch). */
  switchTo(session: DashboardSession, environment: string): DashboardSession;
  /** The signed cookie value. */
  encode(session: DashboardSession): string;
  /** The session a `Cookie` header carries, when its signature, expiry and credential still hold. */
  read(cookieHeader: string | undefined): DashboardSession | undefined;
}

export interface DashboardSessionOptions {
  /** The install's `dashboard_session` secret. */
  secret: Buffer;
  /** HERALD_DASHBOARD_TOKEN; absent = only secret keys sign in. */
  dashboardToken?: string;
  environments: readonly SessionEnvironment[];
  now: () => number;
}

const b64 = (b: Buffer) => b.toString('base64url');

export function createDashboardSessions(opts: DashboardSessionOptions): DashboardSessions {
  const signer = fastifyCookie.signerFactory(opts.secret, 'sha256');
  const fingerprintOf = (credential: string) => b64(createHmac('sha256', opts.secret).update(`credential:${credential}`).digest().subarray(0, 18));
  const sameFingerprint = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
  const slugs = opts.environments.map((e) => e.slug);

  /** The secret keys an environment accepts now (the current one and rotated-out ones in their grace). */
  const acceptedSecrets = (env: SessionEnvironment): string[] => {
    const list = env.keys.source?.current();
    if (!list) return [env.keys.secret];
    const t = opts.now();
    return list.filter((k) => k.kind === 'secret' && (k.expiresAt === undefined || t < k.expiresAt.getTime())).map((k) => k.key);
  };

  const credentialHolds = (s: DashboardSession): boolean => {
    if (s.credential === 'dashboard_token') return opts.dashboardToken !== undefined && sameFingerprint(s.fingerprint, fingerprintOf(opts.dashboardToken));
    const env = opts.environments.find((e) => e.slug === s.environment);
    // Every comparison runs whichever matches (constant time over the accepted keys).
    let holds = false;
    for (const key of env ? acceptedSecrets(env) : []) holds = sameFingerprint(s.fingerprint, fingerprintOf(key)) || holds;
    return holds;
  };

  return {
    slugs,
    tokenConfigured: opts.dashboardToken !== undefined,
    signIn(token, environment) {
      const fingerprint = fingerprintOf(token);
      const expiresAt = opts.now() + SESSION_TTL_MS;
      if (opts.dashboardToken !== undefined && sameFingerprint(fingerprint, fingerprintOf(opts.dashboardToken))) {
        if (environment !== undefined && !slugs.includes(environment)) return 'unknown_environment';
        return { environment: environment ?? slugs[0], credential: 'dashboard_token', fingerprint, expiresAt };
      }
      // Every environment's keys are compared, whichever matches.
      let found: string | undefined;
      for (const env of opts.environments) {
        for (const key of acceptedSecrets(env)) {
          if (sameFingerprint(fingerprint, fingerprintOf(key)) && found === undefined) found = env.slug;
        }
      }
      return found === undefined ? undefined : { environment: found, credential: 'secret_key', fingerprint, expiresAt };
    },
    switchTo(session, environment) {
      return { ...session, environment };
    },
    encode(session) {
      const payload = b64(Buffer.from(JSON.stringify({ e: session.environment, c: session.credential === 'dashboard_token' ? 't' : 'k', f: session.fingerprint, x: session.expiresAt })));
      return signer.sign(payload);
    },
    read(cookieHeader) {
      if (cookieHeader === undefined || !cookieHeader.includes(SESSION_COOKIE)) return undefined;
      let raw: string | undefined;
      try {
        raw = fastifyCookie.parse(cookieHeader)[SESSION_COOKIE];
      } catch {
        return undefined;
      }
      if (raw === undefined || raw.length > 1024) return undefined;
      const unsigned = signer.unsign(raw);
      if (!unsigned.valid || unsigned.value === null) return undefined;
      let claims: { e?: unknown; c?: unknown; f?: unknown; x?: unknown };
      try {
        claims = JSON.parse(Buffer.from(unsigned.value, 'base64url').toString('utf8')) as typeof claims;
      } catch {
        return undefined;
      }
      if (typeof claims.e !== 'string' || !slugs.includes(claims.e) || typeof claims.f !== 'string' || typeof claims.x !== 'number' || (claims.c !== 't' && claims.c !== 'k')) return undefined;
      if (opts.now() >= claims.x) return undefined;
      const session: DashboardSession = { environment: claims.e, credential: claims.c === 't' ? 'dashboard_token' : 'secret_key', fingerprint: claims.f, expiresAt: claims.x };
      return credentialHolds(session) ? session : undefined;
    },
  };
}
