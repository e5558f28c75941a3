import { importSPKI, jwtVerify } from 'jose';
import { errors } from '../../domain/errors.js';
import type { ApiDeps, App } from '../types.js';

/**
 * Bearer-key authentication for /v1. A secret key may call anything. A public key may call only
 * routes marked `publicAccess`; when a signing key is configured it must also carry a user token
 * (RS256 JWT in X-Knock-User-Token) whose `sub` is the user the route acts on.
 */
export function registerAuth(app: App, deps: Pick<ApiDeps, 'keys' | 'signingPublicKey'>): void {
  let verifyKey: ReturnType<typeof importSPKI> | undefined;
  if (deps.signingPublicKey) verifyKey = importSPKI(deps.signingPublicKey, 'RS256');

  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v1/')) return;
    const header = request.headers.authorization;
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
    const token = request.headers['x-knock-user-token'];
    if (!verifyKey) {
      request.auth = { kind: 'public' };
      return;
    }
    if (typeof token !== 'string' || token === '') throw errors.missingUserToken();
    let sub: string | undefined;
    try {
      const { payload } = await jwtVerify(token, await verifyKey, { algorithms: ['RS256'] });
      sub = payload.sub;
    } catch (e) {
      throw errors.invalidUserToken((e as Error).message);
    }
    const params = request.params as { user_id?: string } | undefined;
    if (params?.user_id !== undefined && params.user_id !== sub) throw errors.forbidden('The user token does not belong to this user.');
    request.auth = { kind: 'public', userId: sub };
  });
}
