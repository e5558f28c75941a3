import { Type } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import type { Db } from '../../store/db.js';
import { recordLinkClick, recordOpen } from '../../store/message-tracking.js';
import { CLICK_PATH, createEmailTracking, DEFAULT_TRACKING_ENVIRONMENT, OPEN_PATH, trackingSecret } from '../../tracking/email-tracking.js';
import { TRANSPARENT_GIF } from '../../tracking/html.js';
import { TOKEN_MAX_CHARS, verifyTrackingToken, type TrackingClaims } from '../../tracking/token.js';
import { publicBaseUrl } from '../public-url.js';
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
  // The engine creates the messages whose HTML carries these URLs, so it must sign with the
  // same secret and base URL. The composition may pass each engine its own tracking
  // (createEngine's `tracking`, with its environment's slug); an engine that has none takes this
  // one, but only from the primary API (the one serving the management API, whose store holds
  // the install's secret): another environment's API cannot tell which environment it is, and
  // an engine left without tracking sends links as they are rather than links that never verify.
  if (deps.serviceTokens || deps.environments) {
    deps.engine.useEmailTracking?.(createEmailTracking({
      db: deps.db,
      clock: deps.clock,
      environment: deps.environments?.slugs[0] ?? DEFAULT_TRACKING_ENVIRONMENT,
      baseUrl: () => deps.publicUrl ?? listenAddress(app),
    }));
  }

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
function listenAddress(app: App): string {
  return publicBaseUrl({}, { server: app } as Parameters<typeof publicBaseUrl>[1]);
}
