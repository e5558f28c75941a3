/**
 * Signing in to the dashboard: a credential in, a signed session cookie out (sessions.ts).
 * `POST` and `GET` answer the session; `PUT …/environment` moves a dashboard-token session to
 * another environment; `DELETE` signs out. Sign-in attempts are limited per client address.
 */
import { fastifyCookie } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiDeps, App, DashboardDeps } from '../types.js';
import { errors } from '../../domain/errors.js';
import { dashboardErrors } from './errors.js';
import { SessionBody, SignInBody, SwitchEnvironmentBody } from './schemas.js';
import { SESSION_COOKIE, SESSION_TTL_MS, type DashboardSession, type DashboardSessions } from './sessions.js';
import { checkCsrf } from './session-auth.js';
import { dashboardHeaders } from './static.js';

/** Failed sign-ins per client address per minute (a secret key is 24 random bytes: this stops noise, not guessing). */
export const SIGN_IN_FAILURES_PER_MINUTE = 10;

/** "development" → "Development", as the management API names environments. */
const label = (slug: string) => slug.charAt(0).toUpperCase() + slug.slice(1).replaceAll(/[-_]/g, ' ');

function sessionBody(sessions: Pick<DashboardSessions, 'slugs'>, s: DashboardSession): SessionBody {
  const canSwitch = s.credential === 'dashboard_token';
  const slugs = canSwitch ? sessions.slugs : [s.environment];
  return {
    environment: s.environment,
    environments: slugs.map((slug) => ({ slug, name: label(slug) })),
    can_switch_environment: canSwitch,
    credential: s.credential,
    expires_at: new Date(s.expiresAt).toISOString(),
  };
}

function setSessionCookie(reply: FastifyReply, dashboard: DashboardDeps, value: string, maxAgeSeconds: number): void {
  reply.header('set-cookie', fastifyCookie.serialize(SESSION_COOKIE, value, {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    secure: dashboard.secureCookie === true,
    maxAge: maxAgeSeconds,
  }));
}

/**
 * Failed sign-ins per address in a fixed one-minute window, in memory (each process counts its
 * own). Only failures count, so a team behind one address signing in is never locked out.
 */
function failureLimiter(now: () => number) {
  const windows = new Map<string, { start: number; count: number }>();
  const live = (address: string, t: number) => {
    const w = windows.get(address);
    return w && t - w.start < 60_000 ? w : undefined;
  };
  return {
    /** Throws 429 while the address has used up its failures. */
    check(address: string): void {
      const t = now();
      const w = live(address, t);
      if (w && w.count >= SIGN_IN_FAILURES_PER_MINUTE) throw dashboardErrors.tooManyAttempts(Math.max(1, Math.ceil((w.start + 60_000 - t) / 1000)));
    },
    failed(address: string): void {
      const t = now();
      if (windows.size > 10_000) for (const [k, w] of windows) if (t - w.start >= 60_000) windows.delete(k);
      const w = live(address, t);
      if (w) w.count += 1;
      else windows.set(address, { start: t, count: 1 });
    },
  };
}

export function registerSessionRoutes(app: App, deps: ApiDeps, dashboard: DashboardDeps): void {
  const sessions = dashboard.sessions;
  const failures = failureLimiter(() => deps.clock.now().getTime());
  const schema = { tags: ['dashboard'] };
  const current = (request: FastifyRequest): DashboardSession => {
    const s = request.dashboardSession ?? sessions?.read(request.headers.cookie);
    if (!s) throw dashboardErrors.noSession();
    return s;
  };

  app.post('/dashboard/api/session', {
    config: { auth: 'none' },
    schema: { ...schema, summary: 'Sign in to the dashboard', body: SignInBody, response: { 200: SessionBody } },
  }, async (request, reply) => {
    dashboardHeaders(reply);
    checkCsrf(request, dashboard);
    failures.check(request.ip);
    const session = sessions?.signIn(request.body.token, request.body.environment);
    if (!session) failures.failed(request.ip);
    if (session === 'unknown_environment') {
      throw errors.invalidParams(`Unknown environment "${request.body.environment}".`, [{ field: 'environment', message: `must be one of ${sessions!.slugs.join(', ')}`, type: 'invalid' }]);
    }
    if (!session) throw dashboardErrors.invalidCredentials();
    setSessionCookie(reply, dashboard, sessions!.encode(session), SESSION_TTL_MS / 1000);
    return sessionBody(sessions!, session);
  });

  // `secret`: the session cookie (or the secret key, answering as a session of its environment).
  app.get('/dashboard/api/session', {
    config: { auth: 'secret', dashboard: true },
    schema: { ...schema, summary: 'The current dashboard session', response: { 200: SessionBody } },
  }, async (request, reply) => {
    dashboardHeaders(reply);
    const s = request.dashboardSession;
    if (s) return sessionBody(sessions!, s);
    // The secret key itself: a session of this environment that cannot switch.
    return sessionBody({ slugs: [dashboard.environment] },
      { environment: dashboard.environment, credential: 'secret_key', fingerprint: '', expiresAt: deps.clock.now().getTime() + SESSION_TTL_MS });
  });

  app.put('/dashboard/api/session/environment', {
    config: { auth: 'secret', dashboard: true },
    schema: { ...schema, summary: 'Switch the dashboard session to another environment', body: SwitchEnvironmentBody, response: { 200: SessionBody } },
  }, async (request, reply) => {
    dashboardHeaders(reply);
    const s = current(request);
    if (s.credential !== 'dashboard_token') throw dashboardErrors.switchForbidden();
    const target = request.body.environment;
    if (!sessions!.slugs.includes(target)) {
      throw errors.invalidParams(`Unknown environment "${target}".`, [{ field: 'environment', message: `must be one of ${sessions!.slugs.join(', ')}`, type: 'invalid' }]);
    }
    const moved = sessions!.switchTo(s, target);
    setSessionCookie(reply, dashboard, sessions!.encode(moved), Math.max(1, Math.floor((moved.expiresAt - deps.clock.now().getTime()) / 1000)));
    return sessionBody(sessions!, moved);
  });

  // `none`: signing out needs nothing but clears whatever the browser holds.
  app.delete('/dashboard/api/session', {
    config: { auth: 'none' },
    schema: { ...schema, summary: 'Sign out of the dashboard' },
  }, async (request, reply) => {
    dashboardHeaders(reply);
    if (request.headers.cookie?.includes(SESSION_COOKIE)) checkCsrf(request, dashboard);
    setSessionCookie(reply, dashboard, '', 0);
    return reply.status(204).send();
  });
}
