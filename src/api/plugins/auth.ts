/**
 * Authentication, decided from the MATCHED route's declaration (`config.auth`, see RouteAccess
 * in ../types.ts), never from the URL text: the router decodes `/%761/users` into `/v1/users`,
 * so any prefix test on the raw URL can be walked around. A route that declares nothing is
 * refused, and the route table is recorded so a test can prove that every route declares.
 */
import type { FastifyRequest } from 'fastify';
import { errors } from '../../domain/errors.js';
import type { UserGrants } from '../../domain/user-grants.js';
import type { ApiDeps, App, RouteAccess } from '../types.js';
import { checkGrants, checkOwnUser } from './access.js';
import { apiKeyMatcher } from './api-keys.js';
import { serviceTokenMatcher } from './service-tokens.js';
import { createUserTokenVerifier, presentParam, type UserTokenVerifier } from './user-token.js';
import { authenticateSession } from '../dashboard/session-auth.js';

export interface PublicAuth {
  userId?: string;
  grants?: UserGrants;
}

/**
 * Who may call with a public key. Enhanced security is on exactly when a signing key is
 * configured: then a user token is required and verified (its `sub`, `exp`, `iat` and grants);
 * without one, a public key alone acts for any user (Knock's development mode).
 */
export function publicKeyAuthenticator(deps: Pick<ApiDeps, 'signingPublicKey' | 'clock'>) {
  const verify: UserTokenVerifier | undefined = deps.signingPublicKey ? createUserTokenVerifier(deps.signingPublicKey, deps.clock) : undefined;
  return {
    enhancedSecurity: verify !== undefined,
    /** Throws the 401 Knock answers for a missing or invalid token. */
    async authenticate(token: string | undefined): Promise<PublicAuth> {
      if (!verify) return {};
      if (token === undefined || token === '') throw errors.missingUserToken();
      const grants = await verify(token);
      return { userId: grants.userId, grants };
    },
  };
}

/** One row of the route table: what a route answers to and who may call it. */
export interface RouteEntry {
  method: string;
  url: string;
  auth: RouteAccess | undefined;
  queryAuth: boolean;
}

const tables = new WeakMap<object, RouteEntry[]>();

/** Every route registered on `app` after registerRouteTable, with its declaration. */
export function routeTable(app: App): readonly RouteEntry[] {
  return tables.get(app) ?? [];
}

/**
 * Records the route table. Call it before any route is registered (plugins included), so the
 * table is complete. @fastify/cors's catch-all `OPTIONS *` (it answers preflights, which carry
 * no key, in its own onRequest hook) is the one route Herald does not write; it is declared here.
 */
export function registerRouteTable(app: App): void {
  const table: RouteEntry[] = [];
  tables.set(app, table);
  app.addHook('onRoute', (route) => {
    if (route.url === '*' && route.method === 'OPTIONS' && route.config?.auth === undefined) {
      route.config = { ...route.config, auth: 'none' };
    }
    for (const method of [route.method].flat()) {
      table.push({ method, url: route.url, auth: route.config?.auth, queryAuth: route.config?.queryAuth === true });
    }
  });
}

/** `Authorization: Bearer <key>`, or on queryAuth routes `?api_key=`; which one it came from. */
function presentedKey(request: FastifyRequest): { key: string; inUrl: boolean } | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match ? { key: match[1], inUrl: false } : undefined;
  }
  const key = presentParam((request.query as { api_key?: unknown } | undefined)?.api_key);
  return key ? { key, inUrl: true } : undefined;
}

function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers['x-knock-user-token'];
  if (typeof header === 'string') return header;
  if (!request.routeOptions.config?.queryAuth) return undefined;
  return presentParam((request.query as { user_token?: unknown } | undefined)?.user_token);
}

/**
 * A secret key may call `secret` and `public` routes. A public key may call only `public`
 * routes, with enhanced security only for its token's user (checked here, before validation)
 * and within its grants (checked after validation, see access.ts). A service token may call
 * only `service_token` routes (the management API), and nothing else may call those.
 */
export function registerAuth(app: App, deps: Pick<ApiDeps, 'keys' | 'signingPublicKey' | 'clock' | 'db' | 'serviceTokens' | 'dashboard'>): void {
  const publicAuth = publicKeyAuthenticator(deps);
  const keyKind = apiKeyMatcher(deps.keys);
  const serviceTokenName = serviceTokenMatcher(deps.serviceTokens);
  const dashboard = deps.dashboard;

  app.addHook('onRequest', async (request) => {
    // No route matched: the not-found handler answers 404 and nothing is reached.
    if (request.routeOptions.url === undefined) return;
    const access = request.routeOptions.config?.auth;
    if (access === 'none' || access === 'webhook_token') return;
    // The dashboard's session cookie, only when no key is sent (a key decides alone).
    if (dashboard?.sessions && (access === 'secret' || access === 'public' || access === 'service_token')
      && request.headers.authorization === undefined && presentedKey(request) === undefined) {
      const session = dashboard.sessions.read(request.headers.cookie);
      if (session) {
        authenticateSession(request, access, session, dashboard);
        return;
      }
    }
    if (access === 'service_token') {
      // Header only: a service token in a URL would be written to access logs.
      const presented = presentedKey(request);
      const name = presented && !presented.inUrl ? serviceTokenName(presented.key) : undefined;
      if (name === undefined) throw errors.serviceTokenRequired();
      request.auth = { kind: 'service_token', name };
      return;
    }
    if (access !== 'secret' && access !== 'public') throw errors.routeAccessUndeclared();

    const presented = presentedKey(request);
    if (!presented) throw errors.apiKeyMissing();
    const kind = keyKind(presented.key);
    // Said plainly, so a management client pointed at the wrong origin is told why.
    if (kind === undefined && !presented.inUrl && serviceTokenName(presented.key) !== undefined) throw errors.serviceTokenNotAccepted();
    if (presented.inUrl) {
      // The secret key in a URL is refused everywhere: it would be written to access logs.
      if (kind === 'secret') throw errors.secretKeyInUrl();
      if (!request.routeOptions.config?.queryAuth) throw errors.apiKeyMissing();
    }
    if (kind === 'secret') {
      request.auth = { kind: 'secret' };
      return;
    }
    if (kind !== 'public') throw errors.apiKeyInvalid();
    if (access !== 'public') throw errors.incorrectTokenType();
    const auth = await publicAuth.authenticate(presentedToken(request));
    request.auth = { kind: 'public', ...auth };
    if (auth.grants) checkOwnUser(request, auth.grants);
  });

  app.addHook('preHandler', async (request) => {
    const auth = request.auth;
    if (auth?.kind === 'public' && auth.grants) await checkGrants(request, auth.grants, deps);
  });
}
