/**
 * What each browser-callable route (`config.auth: 'public'`) needs from a user token's grants.
 * Runs as a preHandler, after validation, so params, query and body are typed and parsed.
 * Only requests made with a public key AND a verified token reach these checks; without
 * enhanced security a public key may call every public route for any user (Knock's
 * development mode).
 *
 * Ownership of messages is enforced in the message routes themselves (a user token's status
 * changes only match that user's messages); here tenant grants are checked against the
 * messages' tenants.
 */
import type { FastifyRequest } from 'fastify';
import { errors } from '../../domain/errors.js';
import { USERS, type EntityKey } from '../../domain/recipients.js';
import { can, decideTenant, tenantAllowed, tenantsFor, type Permission, type TenantScope, type UserGrants } from '../../domain/user-grants.js';
import { getMessages } from '../../store/messages.js';
import type { ApiDeps } from '../types.js';

type Params = Record<string, string | undefined>;
type Check = (g: UserGrants, request: FastifyRequest, deps: Pick<ApiDeps, 'db'>) => void | Promise<void>;

const denied = (what: string) => errors.forbidden(`The user token does not grant ${what}.`);

const user = (params: Params): EntityKey => ({ collection: USERS, id: params.user_id ?? '' });

const onEntity = (p: Permission, keyOf: (params: Params) => EntityKey): Check => (g, request) => {
  const key = keyOf(request.params as Params);
  if (!can(g, p, key)) throw denied(`${p} on ${key.collection === USERS ? 'this user' : `${key.collection}/${key.id}`}`);
};

const forTenant = (p: Permission, tenant: string | undefined) => (g: UserGrants) => {
  if (!decideTenant(g, p, tenant).allowed) throw denied(tenant === undefined ? p : `${p} for tenant "${tenant}"`);
};

const feedRead: Check = (g, request) => forTenant('feed/read', (request.query as { tenant?: string } | undefined)?.tenant)(g);

/**
 * Preference sets are named "default" (un-tenanted) or after a tenant; `?tenant=` reads that
 * tenant's set too. Both the set named in the path and the tenant asked for must be granted,
 * so a token for tenant T1 never reaches T2's set. The list of all sets is cut down to the
 * token's reach by the route (preferenceSetVisible).
 */
const preferences = (p: Permission): Check => (g, request) => {
  const setId = (request.params as Params).id;
  const tenant = (request.query as { tenant?: string } | undefined)?.tenant;
  if (setId !== undefined && setId !== 'default') forTenant(p, setId)(g);
  if (tenant !== undefined) forTenant(p, tenant)(g);
  if ((setId === undefined || setId === 'default') && tenant === undefined) forTenant(p, undefined)(g);
};

/** Status changes by message id: every message of this user must be within the token's tenants. */
const messagesByIds = (ids: (request: FastifyRequest) => string[]): Check => async (g, request, deps) => {
  if (!g.explicit && tenantsFor(g, 'feed/write').length === 0) return;
  const found = await getMessages(deps.db, ids(request), { collection: USERS, id: g.userId });
  for (const m of found) if (!tenantAllowed(g, 'feed/write', m.tenant_id)) throw denied(`feed/write for tenant "${m.tenant_id ?? '(none)'}"`);
  if (found.length === 0 && !decideTenant(g, 'feed/write', undefined).allowed) throw denied('feed/write');
};

/** Bulk by channel: with tenant grants the body must name tenants, each one granted. */
const bulk: Check = (g, request) => {
  const tenants = (request.body as { tenants?: string[] | null } | undefined)?.tenants ?? [];
  if (tenants.length === 0) {
    const d = decideTenant(g, 'feed/write', undefined);
    if (!d.allowed) throw denied('feed/write');
    if (d.scope) throw errors.forbidden('The user token is scoped to tenants; a bulk update must name them in "tenants".');
    return;
  }
  for (const t of tenants) forTenant('feed/write', t)(g);
};

const object = (params: Params): EntityKey => ({ collection: params.collection ?? '', id: params.object_id ?? '' });

/** Keyed by `METHOD route-url`; preference routes are matched by prefix below. */
const CHECKS: Record<string, Check> = {
  'GET /v1/users/:user_id': onEntity('user/read', user),
  'PUT /v1/users/:user_id': onEntity('user/write', user),
  'GET /v1/users/:user_id/channel_data/:channel_id': onEntity('channel_data/read', user),
  'PUT /v1/users/:user_id/channel_data/:channel_id': onEntity('channel_data/write', user),
  'DELETE /v1/users/:user_id/channel_data/:channel_id': onEntity('channel_data/write', user),
  'GET /v1/objects/:collection/:object_id/channel_data/:channel_id': onEntity('channel_data/read', object),
  'PUT /v1/objects/:collection/:object_id/channel_data/:channel_id': onEntity('channel_data/write', object),
  'DELETE /v1/objects/:collection/:object_id/channel_data/:channel_id': onEntity('channel_data/write', object),
  'GET /v1/users/:user_id/feeds/:channel_id': feedRead,
  'GET /v1/users/:user_id/feeds/:channel_id/settings': feedRead,
  'GET /v1/users/:user_id/feeds/:channel_id/stream': feedRead,
  'PUT /v1/messages/:message_id/:status': messagesByIds((r) => [(r.params as Params).message_id ?? '']),
  'DELETE /v1/messages/:message_id/:status': messagesByIds((r) => [(r.params as Params).message_id ?? '']),
  'POST /v1/messages/batch/:status': messagesByIds((r) => (r.body as { message_ids?: string[] } | undefined)?.message_ids ?? []),
  'POST /v1/channels/:channel_id/messages/bulk/:action': bulk,
};

/** HEAD is a GET without the body: it needs exactly what GET needs. */
function checkFor(method: string, url: string): Check | undefined {
  const m = method === 'HEAD' ? 'GET' : method;
  const exact = CHECKS[`${m} ${url}`];
  if (exact) return exact;
  if (url.startsWith('/v1/users/:user_id/preferences')) return preferences(m === 'GET' ? 'preferences/read' : 'preferences/write');
  return undefined;
}

/** Whatever the grants say, a token only ever acts for its own user (403 before validation). */
export function checkOwnUser(request: FastifyRequest, g: UserGrants): void {
  const params = request.params as Params | undefined;
  if (params?.user_id !== undefined && params.user_id !== g.userId) throw errors.forbidden('The user token does not belong to this user.');
}

/** Throws 403 unless the token's grants allow this request. */
export async function checkGrants(request: FastifyRequest, g: UserGrants, deps: Pick<ApiDeps, 'db'>): Promise<void> {
  checkOwnUser(request, g);
  const check = checkFor(request.method, request.routeOptions.url ?? '');
  // A public route nobody described here: only a token without explicit grants may call it.
  if (!check) {
    if (g.explicit) throw denied(`${request.method} ${request.routeOptions.url}`);
    return;
  }
  await check(g, request, deps);
}

/** For feed reads: the tenants a token's grants narrow an un-narrowed feed to, if any. */
export function feedTenantScope(request: FastifyRequest, tenant: string | undefined): TenantScope | undefined {
  const auth = request.auth;
  if (auth?.kind !== 'public' || !auth.grants) return undefined;
  const d = decideTenant(auth.grants, 'feed/read', tenant);
  return d.allowed ? d.scope : { tenants: [], includeNone: false };
}

/**
 * For the list of a user's preference sets: which sets the request may see. A secret key or a
 * token without tenant grants sees them all; a tenant-scoped token sees its tenants' sets, and
 * the "default" set only if the user itself may read preferences.
 */
export function preferenceSetVisible(request: FastifyRequest): (setId: string) => boolean {
  const auth = request.auth;
  if (auth?.kind !== 'public' || !auth.grants) return () => true;
  const g = auth.grants;
  return (setId) => tenantAllowed(g, 'preferences/read', setId === 'default' ? null : setId);
}
