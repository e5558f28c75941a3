/**
 * The dashboard's page: the Vite build in dashboard/dist served at /dashboard/ by the listening
 * app. The page itself is public (it holds no data; every data call needs a session), so these
 * routes are `auth: 'none'`. Hashed assets are cached for a year; every other path under
 * /dashboard/ (the single-page app's own routes) answers index.html, never cached, so a new
 * build is picked up on the next load. Missing build = 503 saying how to build it.
 */
import { stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HeraldError } from '../../domain/errors.js';
import { errors } from '../../domain/errors.js';
import type { App } from '../types.js';

export const DASHBOARD_PREFIX = '/dashboard';

/**
 * Scripts and styles from Herald only (styles may be inline: React sets style attributes), images
 * from Herald or data: URLs, frames only from Herald or blob: (an email's HTML is shown in a
 * sandboxed frame), no plugins, no <base>, and the dashboard may not be framed by anyone.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const LONG_CACHE = 'public, max-age=31536000, immutable';

const notBuilt = () => new HeraldError(503, 'dashboard_not_built',
  'The dashboard has not been built: run "npm run build" (npm start builds it when it is missing or stale), then reload.', 'api_error');

/** The security headers every dashboard answer carries (the page, its assets and its API). */
export function dashboardHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', DASHBOARD_CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('x-frame-options', 'DENY');
  reply.header('referrer-policy', 'same-origin');
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Registers the page routes; `root` is the built dashboard (dashboard/dist). */
export async function registerDashboardPage(app: App, root: string): Promise<void> {
  const base = resolve(root);
  // Only the reply.sendFile decorator: the routes below decide what is served.
  await app.register(fastifyStatic, { root: base, serve: false, cacheControl: false, dotfiles: 'deny', etag: true, lastModified: true });

  const sendIndex = async (reply: FastifyReply) => {
    if (!(await isFile(resolve(base, 'index.html')))) throw notBuilt();
    dashboardHeaders(reply);
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html', base);
  };

  // With ignoreTrailingSlash, /dashboard and /dashboard/ are one route: only the bare one
  // redirects, so relative asset URLs resolve under /dashboard/.
  app.get(DASHBOARD_PREFIX, { config: { auth: 'none' }, schema: { hide: true } }, async (request, reply) => {
    const path = request.url.split('?')[0];
    if (path === DASHBOARD_PREFIX) return reply.redirect(`${DASHBOARD_PREFIX}/`, 302);
    return sendIndex(reply);
  });

  app.get(`${DASHBOARD_PREFIX}/*`, { config: { auth: 'none' }, schema: { hide: true } }, async (request: FastifyRequest<{ Params: { '*': string } }>, reply) => {
    const rest = request.params['*'];
    // The API's unknown paths are the API's 404, not the page.
    if (rest === 'api' || rest.startsWith('api/')) throw errors.routeNotFound(request.method, request.url.split('?')[0]);
    const file = resolve(base, rest);
    const inside = file.startsWith(base + sep);
    if (rest.startsWith('assets/')) {
      if (!inside || !(await isFile(file))) {
        if (!(await isFile(resolve(base, 'index.html')))) throw notBuilt();
        throw errors.notFound(`Dashboard asset "${rest}"`);
      }
      dashboardHeaders(reply);
      reply.header('cache-control', LONG_CACHE);
      return reply.sendFile(rest, base);
    }
    // A file at the top of the build (favicon, robots.txt…), else a route of the app.
    if (inside && rest !== '' && !rest.endsWith('/') && (await isFile(file))) {
      dashboardHeaders(reply);
      reply.header('cache-control', 'no-cache');
      return reply.sendFile(rest, base);
    }
    return sendIndex(reply);
  });
}
