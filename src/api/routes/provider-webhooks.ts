import { Type } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import { readStatusEvents, STATUS_WEBHOOK_PROVIDERS } from '../../providers/status-events.js';
import { requireChannel } from '../../store/channel-data.js';
import { applyInboundStatuses } from '../../store/message-delivery-status.js';
import type { ApiDeps, App } from '../types.js';
import type { Db } from '../../store/db.js';
import { sameSecret } from '../plugins/api-keys.js';


/**
 * Herald extension: `POST /v1/channels/{channel_id}/provider_webhooks/{provider}` takes a
 * provider's delivery-status webhook (Postmark bounce/delivery, Resend events, Twilio
 * StatusCallback, Vonage status, a raw SMTP bounce DSN) and moves the channel's messages to
 * `bounced`, `delivered` or `undelivered`. Providers cannot send Herald's key, so the URL
 * carries `?token=` matching the channel setting `inbound_webhook_token` (the secret key as a
 * Bearer header works too). Answers 200 `{matched, updated}` once the changes are committed.
 */
export function registerProviderWebhookRoutes(app: App, deps: ApiDeps): void {
  app.register(async (plain) => {
    const scope = plain as unknown as App;
    // Twilio posts forms; SMTP bounces arrive as raw mail. JSON stays with the app's parser.
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });
    scope.addContentTypeParser(['text/plain', 'message/rfc822', 'message/delivery-status', 'multipart/report'], { parseAs: 'string' }, (_req, body, done) => done(null, String(body)));

    scope.post('/v1/channels/:channel_id/provider_webhooks/:provider', {
      config: { auth: 'webhook_token' },
      schema: {
        tags: ['channels'],
        summary: 'Receive a provider\'s delivery-status webhook (Herald extension)',
        params: Type.Object({ channel_id: Type.String(), provider: Type.String() }),
        querystring: Type.Object({ token: Type.Optional(Type.String()), environment: Type.Optional(Type.String({ minLength: 1 })) }),
      },
    }, async (request) => {
      // Providers cannot send an environment's key, so a webhook for another environment's
      // messages names it: `…?token=…&environment=production` (README "Environments").
      const db = await webhookStore(deps, request.query.environment);
      const channel = await requireChannel(db, request.params.channel_id);
      const settings = (channel as { settings?: Record<string, unknown> }).settings ?? {};
      const expected = typeof settings.inbound_webhook_token === 'string' ? settings.inbound_webhook_token : null;
      const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
      const authorised = (bearer !== undefined && sameSecret(bearer, deps.keys.secret))
        || (expected !== null && request.query.token !== undefined && sameSecret(request.query.token, expected));
      if (!authorised) throw errors.apiKeyInvalid();
      const { provider } = request.params;
      const events = readStatusEvents(provider, request.body);
      if (events === null) {
        throw errors.invalidParams(`Provider "${provider}" has no status webhook reader.`, [{ field: 'provider', message: `must be one of ${STATUS_WEBHOOK_PROVIDERS.join(', ')}`, type: 'invalid' }]);
      }
      const updated = await applyInboundStatuses(db, channel.id, provider,
        events.map((e) => ({ id: e.id, byMessageId: !!e.byMessageId, status: e.status, reason: e.reason ?? null })), deps.clock.now());
      return { matched: events.length, updated: updated.length };
    });
  });
}

/** The store of the environment a webhook names (this API's own when it names none). */
async function webhookStore(deps: ApiDeps, environment: string | undefined): Promise<Db> {
  if (environment === undefined || environment === deps.environments?.slugs[0]) return deps.db;
  if (!deps.environments?.has(environment)) {
    throw errors.invalidParams(`Unknown environment "${environment}".`, [{ field: 'environment', message: `must be one of ${(deps.environments?.slugs ?? []).join(', ')}`, type: 'invalid' }]);
  }
  return deps.environments.db(environment);
}
