import { Type } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import type { Db } from '../../store/db.js';
import { recordLinkClick, recordOpen } from '../../store/message-tracking.js';
import { CLICK_PATH, DEFAULT_TRACKING_ENVIRONMENT, OPEN_PATH, trackingSecret } from '../../tracking/email-tracking.js';
import { TRANSPARENT_GIF } from '../../tracking/html.js';
import { TOKEN_MAX_CHARS, verifyTrackingToken, type TrackingClaims } from '../../tracking/token.js';
import type { ApiDeps, App } from '../types.js';

/**
 * The store holding an environment's messages: through the environment directory when there is
 * one, else this API's own store (which is the default environment's). Null for a slug this
 * Herald does not have (any more).
 */
async function environmentStore(deps: ApiDeps, environment: string): Promise<Db | null> {
  if (deps.environments) return deps.environments.has(environment) ? deps.environments.db(environment) : null;
  return environment === DEFAULT_TRACKING_ENVIRONMENT ? deps.db : null;
}

const TokenParams = Type.Object({ token: Type.String({ maxLength: TOKEN_MAX_CHARS }) });

/**
 * Link-click redirects and open pixels of tracked email messages (README "Link and open
 * tracking"). Anyone may follow them (`auth: 'none'`): what authorises a request is the token's
 * signature under the install's tracking secret (src/tracking/token.ts). A token that does not
 * verify is a 404 in Knock's error shape and never redirects.
 */
export function registerTrackingRoutes(app: App, deps: ApiDeps): void {
  const secret = trackingSecret(deps.db, deps.clock);
  const verified = async (token: string, kind: TrackingClaims['kind']) => {
    const claims = verifyTrackingToken(await secret(), token);
    if (claims?.kind !== kind) throw errors.notFound('The tracking link');
    return claims;
  };

  app.get(`${CLICK_PATH}:token`, {
    config: { auth: 'none' },
    schema: {
      tags: ['messages'],
      summary: 'Follow a tracked email link: records link_clicked and redirects to the original URL (Herald extension)',
      params: TokenParams,
    },
  }, async (request, reply) => {
    const claims = await verified(request.params.token, 'click');
    if (claims.kind !== 'click') throw errors.notFound('The tracking link');
    const db = await environmentStore(deps, claims.environment);
    // A message deleted since (retention) is not recorded, but its link still leads where it did.
    if (db) await recordLinkClick(db, claims.messageId, { url: claims.url, index: claims.index }, deps.clock.now());
    return reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(claims.url, 302);
  });

  app.get(`${OPEN_PATH}:token`, {
    config: { auth: 'none' },
    schema: {
      tags: ['messages'],
      summary: 'The open pixel of a tracked email: records the message as seen and read (Herald extension)',
      params: TokenParams,
    },
  }, async (request, reply) => {
    const claims = await verified(request.params.token, 'open');
    const db = await environmentStore(deps, claims.environment);
    if (db) await recordOpen(db, claims.messageId, deps.clock.now());
    return reply
      .header('content-type', 'image/gif')
      .header('cache-control', 'no-store, no-cache, must-revalidate, max-age=0')
      .header('pragma', 'no-cache')
      .header('expires', '0')
      .send(TRANSPARENT_GIF);
  });
}

/** The address this API listens on, as public-url.ts answers it when HERALD_PUBLIC_URL is not set. */
