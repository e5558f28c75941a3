import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Metrics, MetricsSource } from '../metrics/port.js';
import type { Clock } from '../domain/clock.js';
import type { Db } from '../store/db.js';
import type { Engine } from '../engine/engine.js';
import type { UserGrants } from '../domain/user-grants.js';
import type { RateLimitOptions } from './plugins/rate-limit.js';
import type { ServiceTokenSource } from '../store/service-tokens.js';
import type { EnvironmentDirectory } from '../environments/directory.js';
import type { DashboardSession, DashboardSessions } from './dashboard/sessions.js';

/** The Fastify instance every route module receives: TypeBox schemas type the handlers. */
export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface ApiKeys {
  secret: string;
  public: string;
}

/** What route modules may use. Routes stay thin: parse, call the store or engine, shape the reply. */
export interface ApiDeps {
  db: Db;
  clock: Clock;
  keys: ApiKeys;
  engine: Engine;
  /** PEM key verifying user tokens sent with a public key; absent = public key alone suffices. */
  signingPublicKey?: string;
  /** Requests per second per API key / per user token; absent = DEFAULT_RATE_LIMITS. */
  rateLimits?: RateLimitOptions;
  /**
   * The base URL clients reach Herald at (`HERALD_PUBLIC_URL`), for absolute URLs in answers
   * such as `progress_path`. Absent = the address the server listens on. Never the request's
   * `Host` header, which the caller chooses.
   */
  publicUrl?: string;
  /** Where routes report triggers, connections and rate-limit refusals; absent = nowhere. */
  metrics?: Metrics;
  /** Serve GET /metrics from this registry on the API port; absent = not here (off, or its own port). */
  metricsSource?: MetricsSource;
  /** Service tokens accepted by the management API (/mgmt); absent = every /mgmt call is refused. */
  serviceTokens?: ServiceTokenSource;
  /** The locale translations fall back to (HERALD_DEFAULT_LOCALE; default `en`): previews use it as renders do. */
  defaultLocale?: string;
  /** The environments the management API works on (each its own store); absent = every slug is this store. */
  environments?: EnvironmentDirectory;
  /** The dashboard: its sessions (shared by every environment's app) and this app's environment. */
  dashboard?: DashboardDeps;
}

export interface DashboardDeps {
  /** Sign-in and the session cookie; absent = no session is ever accepted. */
  sessions?: DashboardSessions;
  /** The slug of the environment this app serves (a session for another is refused here). */
  environment: string;
  /** The built dashboard (default: dashboard/dist in the package). */
  assetsDir?: string;
  /** The origin browsers reach Herald at (HERALD_PUBLIC_URL's), for the CSRF origin check; absent = the request's Host. */
  origin?: string;
  /** Mark the cookie Secure (HERALD_PUBLIC_URL is https). */
  secureCookie?: boolean;
}

/**
 * Who may call a route; every route declares one in `config.auth` and the auth hook decides
 * from the matched route's declaration alone (src/api/plugins/auth.ts):
 * - `secret`: the secret key (`Authorization: Bearer sk_...`) only;
 * - `public`: the secret key, or the public key (browser clients), which under enhanced
 *   security needs a user token whose grants allow the request (src/api/plugins/access.ts);
 * - `service_token`: the management API (/mgmt) only: a service token, never an API key; and a
 *   service token can call nothing else;
 * - `webhook_token`: a provider, authenticated by the route itself against the channel's token;
 * - `none`: anyone (the health probe, the OpenAPI document).
 *
 * A dashboard session (its signed cookie, on a request carrying no key) counts as the secret key
 * of its environment on `secret` and `public` routes and as a service token on `service_token`
 * routes (src/api/dashboard/session-auth.ts); never as a public key.
 */
export type RouteAccess = 'secret' | 'public' | 'service_token' | 'webhook_token' | 'none';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; a route without it is refused (fail closed). */
    auth?: RouteAccess;
    /**
     * On `public` routes: the public key and user token may come as `api_key` / `user_token`
     * query parameters, for clients that cannot set headers (EventSource, WebSocket). The
     * secret key is never accepted in a URL.
     */
    queryAuth?: boolean;
    /**
     * A dashboard route (/dashboard/api): it reads the session's environment, so a session of
     * any environment is accepted here (other routes accept only their own environment's).
     */
    dashboard?: boolean;
  }
  interface FastifyRequest {
    /** Which key authenticated the request, and for a public key the user it acts as. */
    auth?: { kind: 'secret' } | { kind: 'public'; userId?: string; grants?: UserGrants } | { kind: 'service_token'; name: string };
    /** Set when the dashboard's session cookie authenticated the request (no key was sent). */
    dashboardSession?: DashboardSession;
  }
}
