/**
 * Knock's link and open tracking for email channels (README "Link and open tracking"). When a
 * channel has `link_tracking` / `open_tracking` on (a step's `channel_overrides` may turn either
 * off or on for that step, as in Knock), the email's rendered HTML is changed once, when the
 * message is created: each absolute http(s) link leads through `/v1/t/c/{token}` and an open
 * pixel `/v1/t/o/{token}` is added. Tokens are signed with the install's tracking secret
 * (token.ts); the routes in src/api/routes/tracking.ts record the click or open and redirect.
 */
import type { Db } from '../store/db.js';
import type { Clock } from '../domain/clock.js';
import { ensureInstallSecret } from '../store/install-secrets.js';
import { appendOpenPixel, rewriteLinks } from './html.js';
import { signTrackingToken } from './token.js';
import type { EmailTracking } from './port.js';

/** The environment messages are created in until environments have their own stores. */
export const DEFAULT_TRACKING_ENVIRONMENT = 'development';

export const CLICK_PATH = '/v1/t/c/';
export const OPEN_PATH = '/v1/t/o/';

/** Reads the install's tracking secret once per process (it never changes) from the install's store. */
export function trackingSecret(db: Db, clock: Clock): () => Promise<Buffer> {
  let secret: Promise<Buffer> | undefined;
  return () => {
    secret ??= ensureInstallSecret(db, 'link_tracking', clock.now()).catch((err: unknown) => {
      secret = undefined; // a failed read is retried by the next message
      throw err;
    });
    return secret;
  };
}

export interface EmailTrackingOptions {
  /** The install's store, where the tracking secret lives. */
  db: Db;
  clock: Clock;
  /** The base of tracking URLs (HERALD_PUBLIC_URL); called per message so it may be resolved late. */
  baseUrl: () => string;
  /** The environment slug signed into tokens (default `development`). */
  environment?: string;
}

export function createEmailTracking(opts: EmailTrackingOptions): EmailTracking {
  const secret = trackingSecret(opts.db, opts.clock);
  const environment = opts.environment ?? DEFAULT_TRACKING_ENVIRONMENT;
  return {
    async apply(html, message, flags) {
      if (!flags.links && !flags.opens) return html;
      const key = await secret();
      const base = opts.baseUrl().replace(/\/+$/, '');
      let out = html;
      if (flags.links) {
        const own = base + '/v1/t/';
        out = rewriteLinks(out, (url, index) => {
          if (url.startsWith(own)) return null; // already a tracking URL of this Herald
          const token = signTrackingToken(key, { kind: 'click', environment, messageId: message.id, index, url });
          return token === null ? null : base + CLICK_PATH + token;
        }).html;
      }
      if (flags.opens) {
        const token = signTrackingToken(key, { kind: 'open', environment, messageId: message.id });
        if (token !== null) out = appendOpenPixel(out, base + OPEN_PATH + token);
      }
      return out;
    },
  };
}
