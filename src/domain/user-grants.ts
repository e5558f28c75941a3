/**
 * What a verified user token allows (Knock's "enhanced security" grants). Pure rules, no I/O:
 * the HTTP auth plugin and the realtime socket both ask these questions.
 *
 * A token names its user in `sub` and may carry `grants`: `{"<entity URI>": {"<grant>": [...]}}`.
 * Entity URIs are matched on their PATH whatever host they name, because `signUserToken`
 * hard-codes `https://api.knock.app` whatever base URL the SDK uses:
 *   /v1/users/<id>, /v1/tenants/<id> or /v1/objects/$tenants/<id> (a tenant), /v1/objects/<collection>/<id>.
 *
 * - Without `explicit_grants: true` the token may do anything to its own user; with it, only
 *   what the user entity's grants list.
 * - Objects (channel data for Slack/Teams) need a grant on that object in either mode.
 * - Tenant entities carrying feed or preference grants SCOPE those actions: once a token names
 *   at least one tenant for an action, the action applies to those tenants only (plus
 *   un-tenanted data when the user itself may do it).
 * - A token never reaches another user's data, whatever it lists.
 */
import { TENANTS, USERS, type EntityKey } from './recipients.js';

export type Permission =
  | 'user/read' | 'user/write'
  | 'feed/read' | 'feed/write'
  | 'preferences/read' | 'preferences/write'
  | 'channel_data/read' | 'channel_data/write';

/** Knock documents the feed grants under three spellings (SDK enum, docs table, docs example). */
const ALIASES: Record<string, Permission> = {
  'user/read': 'user/read',
  'user/write': 'user/write',
  'user/feed_read': 'feed/read',
  'user_feed/read': 'feed/read',
  'feed/read': 'feed/read',
  'user/feed_write': 'feed/write',
  'user_feed/write': 'feed/write',
  'feed/write': 'feed/write',
  'preferences/read': 'preferences/read',
  'preferences/write': 'preferences/write',
  'channel_data/read': 'channel_data/read',
  'channel_data/write': 'channel_data/write',
};

export interface UserGrants {
  userId: string;
  /** `explicit_grants: true`: the user's own data needs listed grants too. */
  explicit: boolean;
  /** Permissions per entity (`collection/id`), users other than `userId` dropped. */
  entities: Map<string, Set<Permission>>;
  /** Seconds since the epoch when the token expires, if it says. */
  expiresAt?: number;
}

const entityId = (key: EntityKey) => `${key.collection}/${key.id}`;

/** `https://api.knock.app/v1/objects/$tenants/acme` → `{collection: '$tenants', id: 'acme'}`. */
export function parseEntityUri(uri: string): EntityKey | null {
  let path: string;
  try {
    path = new URL(uri).pathname;
  } catch {
    path = uri;
  }
  const parts = path.split('/').filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch { return p; }
  });
  if (parts[0] !== 'v1') return null;
  if (parts.length === 3 && parts[1] === 'users') return { collection: USERS, id: parts[2] };
  if (parts.length === 3 && parts[1] === 'tenants') return { collection: TENANTS, id: parts[2] };
  if (parts.length === 4 && parts[1] === 'objects') return { collection: parts[2], id: parts[3] };
  return null;
}

/** Reads the claims of a token whose signature and expiry were already checked. */
export function grantsFromClaims(claims: { sub?: unknown; grants?: unknown; explicit_grants?: unknown; exp?: unknown }): UserGrants | string {
  if (typeof claims.sub !== 'string' || claims.sub === '') return 'the "sub" claim must name the user';
  const userId = claims.sub;
  const entities = new Map<string, Set<Permission>>();
  if (claims.grants !== undefined && claims.grants !== null) {
    if (typeof claims.grants !== 'object' || Array.isArray(claims.grants)) return 'the "grants" claim must be an object of entity URIs';
    for (const [uri, names] of Object.entries(claims.grants as Record<string, unknown>)) {
      const key = parseEntityUri(uri);
      if (!key || typeof names !== 'object' || names === null) continue;
      if (key.collection === USERS && key.id !== userId) continue;
      const set = entities.get(entityId(key)) ?? new Set<Permission>();
      for (const name of Object.keys(names)) {
        const p = ALIASES[name];
        if (p) set.add(p);
      }
      entities.set(entityId(key), set);
    }
  }
  return {
    userId,
    explicit: claims.explicit_grants === true,
    entities,
    expiresAt: typeof claims.exp === 'number' ? claims.exp : undefined,
  };
}

/** How far a token signer's clock and Herald's may disagree, either way (documented in SECURITY.md). */
export const USER_TOKEN_CLOCK_SKEW_SECONDS = 60;

/**
 * When a verified token stops being accepted (ms since the epoch): `exp` plus the skew, as the
 * verifier counts it. Long-lived connections (sockets, SSE streams) close at this moment.
 */
export function tokenDeadline(grants: UserGrants): number | undefined {
  return grants.expiresAt === undefined ? undefined : (grants.expiresAt + USER_TOKEN_CLOCK_SKEW_SECONDS) * 1000;
}

/** May the token do `p` on this entity (its own user, or an object it was granted)? */
export function can(g: UserGrants, p: Permission, target: EntityKey): boolean {
  if (target.collection === USERS) {
    if (target.id !== g.userId) return false;
    return !g.explicit || (g.entities.get(entityId(target))?.has(p) ?? false);
  }
  return g.entities.get(entityId(target))?.has(p) ?? false;
}

/** Tenants the token names for `p`; empty = the action is not tenant-scoped. */
export function tenantsFor(g: UserGrants, p: Permission): string[] {
  const out: string[] = [];
  const prefix = `${TENANTS}/`;
  for (const [key, perms] of g.entities) if (key.startsWith(prefix) && perms.has(p)) out.push(key.slice(prefix.length));
  return out;
}

/** Which tenants' data an action may touch: `tenants` plus, with `includeNone`, un-tenanted data. */
export interface TenantScope {
  tenants: string[];
  includeNone: boolean;
}

export type TenantDecision = { allowed: false } | { allowed: true; scope?: TenantScope };

/**
 * A feed or preference action for `tenant` (undefined = not narrowed to one tenant). With no
 * tenant grants the user-level permission decides; with some, a named tenant must be one of
 * them and an un-narrowed action is cut down to them (plus un-tenanted data if the user may).
 */
export function decideTenant(g: UserGrants, p: Permission, tenant: string | undefined): TenantDecision {
  const userLevel = can(g, p, { collection: USERS, id: g.userId });
  const scoped = tenantsFor(g, p);
  if (scoped.length === 0) return { allowed: userLevel };
  if (tenant !== undefined) return { allowed: scoped.includes(tenant) };
  // Knock: with tenant grants only, a read with a nil tenant scope is denied.
  if (!userLevel) return { allowed: false };
  return { allowed: true, scope: { tenants: scoped, includeNone: true } };
}

/** Is a message with this tenant (null = none) inside the decision's reach? */
export function tenantAllowed(g: UserGrants, p: Permission, messageTenant: string | null): boolean {
  const scoped = tenantsFor(g, p);
  if (scoped.length === 0) return can(g, p, { collection: USERS, id: g.userId });
  if (messageTenant === null) return can(g, p, { collection: USERS, id: g.userId });
  return scoped.includes(messageTenant);
}
