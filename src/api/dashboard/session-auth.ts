/**
 * A dashboard session as a credential (called by the auth hook, plugins/auth.ts, for requests
 * that carry no key): on `secret` and `public` routes it acts as its environment's secret key —
 * never as a public-key user — on `service_token` routes (the management API) as a service token,
 * and on the dashboard's own routes as itself. Writes need the CSRF header and, when the browser
 * says where the page came from, Herald's own origin.
 */
import type { FastifyRequest } from 'fastify';
import type { DashboardDeps, RouteAccess } from '../types.js';
import { dashboardErrors } from './errors.js';
import type { DashboardSession } from './sessions.js';

export const CSRF_HEADER = 'x-herald-csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The name management routes see (content commits are authored by it). */
export const DASHBOARD_ACTOR = 'dashboard';

/** Throws 403 csrf_rejected for a write without the header or from a foreign origin. */
export function checkCsrf(request: FastifyRequest, dashboard: Pick<DashboardDeps, 'origin'>): void {
  if (SAFE_METHODS.has(request.method)) return;
  if (request.headers[CSRF_HEADER] !== '1') throw dashboardErrors.csrfRejected(`a write with the dashboard session needs the header "${CSRF_HEADER}: 1"`);
  const origin = request.headers.origin;
  if (origin === undefined) return;
  if (!sameOrigin(origin, request.headers.host, dashboard.origin)) throw dashboardErrors.csrfRejected(`the request comes from another origin (${origin.slice(0, 100)})`);
}

/** Herald's own origin: HERALD_PUBLIC_URL's, or the host the browser addressed (a page cannot choose both). */
function sameOrigin(origin: string, host: string | undefined, configured: string | undefined): boolean {
  if (configured !== undefined && origin === configured) return true;
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && host !== undefined && url.host === host.toLowerCase();
  } catch {
    return false;
  }
}

/** A secret-key session may name only its own environment on the management API. */
function checkManagementEnvironment(request: FastifyRequest, session: DashboardSession): void {
  if (session.credential === 'dashboard_token') return;
  const query = (request.query ?? {}) as Record<string, unknown>;
  const params = (request.params ?? {}) as Record<string, unknown>;
  for (const named of [query.environment, query.to_environment, params.environment_slug]) {
    if (named !== undefined && named !== session.environment) throw dashboardErrors.environmentForbidden(String(named).slice(0, 64));
  }
  // Promoting a commit writes the next environment, whichever that is.
  const url = request.routeOptions.url ?? '';
  if (url.endsWith('/commits/:id/promote')) throw dashboardErrors.environmentForbidden('the next environment');
}

/** Authenticates `request` by `session` for a route declaring `access`; throws when it may not. */
export function authenticateSession(request: FastifyRequest, access: RouteAccess, session: DashboardSession, dashboard: DashboardDeps): void {
  // The dashboard's routes read the session's environment; everything else must be in it.
  const anyEnvironment = request.routeOptions.config?.dashboard === true || access === 'service_token';
  if (!anyEnvironment && session.environment !== dashboard.environment) throw dashboardErrors.wrongEnvironment();
  checkCsrf(request, dashboard);
  request.dashboardSession = session;
  if (access === 'service_token') {
    checkManagementEnvironment(request, session);
    request.auth = { kind: 'service_token', name: DASHBOARD_ACTOR };
    return;
  }
  request.auth = { kind: 'secret' };
}
