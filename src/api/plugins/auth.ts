import type { FastifyRequest } from 'fastify';
import { errors } from '../../domain/errors.js';
import type { UserGrants } from '../../domain/user-grants.js';
import type { ApiDeps, App } from '../types.js';
import { checkGrants } from './access.js';
import { createUserTokenVerifier, presentParam, type UserTokenVerifier } from './user-token.js';

export interface PublicAuth {
  userId?: string;
  grants?: UserGrants;
}

/**
 * Who may call with a public key, shared by HTTP and the realtime socket. Enhanced security is
 * on exactly when a signing key is configured: then a user token is required and verified (its
 * `sub`, `exp` and grants); without one, a public key alone acts for any user (Knock's
 * development mode).
 */
export function publicKeyAuthenticator(deps: Pick<ApiDeps, 'keys' | 'signingPublicKey' | 'clock'>) {
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

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The key and token may come as `api_key` / `user_token` query parameters (EventSource cannot set headers). */
    queryAuth?: boolean;
  }
}

/** `?api_key=` as a Bearer header, on routes that accept it. */
function queryKey(request: FastifyRequest): string | undefined {
  if (!request.routeOptions.config?.queryAuth) return undefined;
  const key = presentParam((request.query as { api_key?: unknown } | undefined)?.api_key);
  return key ? `Bearer ${key}` : undefined;
}

/**
 * Bearer-key authentication for /v1. A secret key may call anything. A public key may call only
 * routes marked `publicAccess`, and with enhanced security only within its user token's grants
 * (checked after validation, see access.ts).
 */
export function registerAuth(app: App, deps: Pick<ApiDeps, 'keys' | 'signingPublicKey' | 'clock' | 'db'>): void {
  const publicAuth = publicKeyAuthenticator(deps);

  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v1/')) return;
    // Provider webhooks authenticate with their channel's token (provider-webhooks.ts).
    if (request.routeOptions.config?.inboundWebhook) return;
    const header = request.headers.authorization ?? queryKey(request);
    if (!header) throw errors.apiKeyMissing();
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw errors.apiKeyMissing();
    const key = match[1];
    if (key === deps.keys.secret) {
      request.auth = { kind: 'secret' };
      return;
    }
    if (key !== deps.keys.public) throw errors.apiKeyInvalid();
    if (!request.routeOptions.config?.publicAccess) throw errors.incorrectTokenType();
    const token = request.headers['x-knock-user-token'] ?? (request.routeOptions.config?.queryAuth ? (request.query as { user_token?: unknown }).user_token : undefined);
    request.auth = { kind: 'public', ...(await publicAuth.authenticate(typeof token === 'string' ? token : undefined)) };
  });

  app.addHook('preHandler', async (request) => {
    const auth = request.auth;
    if (auth?.kind === 'public' && auth.grants) await checkGrants(request, auth.grants, deps);
  });
}
