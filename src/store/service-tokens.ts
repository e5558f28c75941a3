/**
 * Service tokens: what authenticates the management API (/mgmt). Unlike the environment keys,
 * only a SHA-256 of each token is stored, so a database dump does not hand out management
 * access; the token itself is seen once, when it is generated. Rotation follows the keys'
 * model (store/api-keys.ts, migration 017): the current token of a name has no expiry, a
 * rotated-out one keeps working until its `expires_at`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db, Queryable } from './db.js';
import { liveCopy } from './live-copy.js';

/** The name of the token Herald generates on first start (whoami's `service_token_name`). */
export const DEFAULT_SERVICE_TOKEN_NAME = 'herald';

/** NOTIFY channel told about every token change, so running processes re-read the hashes. */
export const SERVICE_TOKENS_CHANNEL = 'herald_service_tokens';


/** Knock's service tokens look like this; the prefix also keeps them apart from sk_/pk_ keys. */
export const newServiceToken = () => `knock_st_${randomBytes(32).toString('base64url')}`;

export const hashServiceToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

const hintOf = (token: string) => `…${token.slice(-4)}`;

/** A token the API accepts: its hash, its name, and for a rotated-out one when it stops. */
export interface AcceptedServiceToken {
  hash: string;
  name: string;
  expiresAt?: Date;
}

/** The tokens accepted now, kept current across `herald keys rotate service` in other processes. */
export interface ServiceTokenSource {
  current(): readonly AcceptedServiceToken[];
}

export interface ServiceTokenInfo {
  name: string;
  hint: string;
  createdAt: Date;
  /** Absent for the current token. */
  expiresAt?: Date;
}

export interface EnsuredServiceToken {
  name: string;
  /** The token in clear: only when this call generated it (first start) or it was configured. */
  token?: string;
  /** True when this call generated and stored it (print it: it cannot be shown again). */
  generated: boolean;
  source: ServiceTokenSource;
}

/**
 * A configured token (HERALD_SERVICE_TOKEN) replaces the stored ones entirely. Otherwise the
 * stored one is used, and on the very first start one is generated and stored (even when one is
 * configured, so that removing the setting later still leaves a token to rotate).
 */
export async function ensureServiceToken(db: Db, configured: string | undefined, now: Date): Promise<EnsuredServiceToken> {
  const created = await createServiceToken(db, DEFAULT_SERVICE_TOKEN_NAME, now);
  const source = await watchServiceTokens(db, configured);
  if (configured !== undefined) return { name: DEFAULT_SERVICE_TOKEN_NAME, token: configured, generated: false, source };
  return { name: DEFAULT_SERVICE_TOKEN_NAME, token: created ?? undefined, generated: created !== null, source };
}

/** Generates and stores the current token of `name` when it has none; null when it has one. */
export async function createServiceToken(db: Queryable, name: string, now: Date): Promise<string | null> {
  const token = newServiceToken();
  const inserted = await db.query(
    `INSERT INTO service_tokens (token_hash, name, hint, created_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (name) WHERE expires_at IS NULL DO NOTHING RETURNING name`,
    [hashServiceToken(token), name, hintOf(token), now],
  );
  return inserted.length > 0 ? token : null;
}

export async function listServiceTokens(db: Queryable): Promise<ServiceTokenInfo[]> {
  const rows = await db.query<{ name: string; hint: string; created_at: Date | string; expires_at: Date | string | null }>(
    'SELECT name, hint, created_at, expires_at FROM service_tokens ORDER BY name, expires_at NULLS FIRST, created_at DESC',
  );
  return rows.map((r) => ({
    name: r.name,
    hint: r.hint,
    createdAt: new Date(r.created_at),
    ...(r.expires_at === null ? {} : { expiresAt: new Date(r.expires_at) }),
  }));
}

/**
 * Replaces the current token of `name` with a new one, returned in clear (the only time it is
 * seen); the old one keeps working for `graceMs` (0 = stops at once). Expired ones are pruned.
 * With no current token (a database Herald never started on) it simply creates one.
 */
export async function rotateServiceToken(db: Db, name: string, graceMs: number, now: Date): Promise<{ token: string; expiresAt: Date }> {
  const token = newServiceToken();
  const expiresAt = new Date(now.getTime() + graceMs);
  await db.transaction(async (tx) => {
    const [row] = await tx.query<{ token_hash: string }>('SELECT token_hash FROM service_tokens WHERE name = $1 AND expires_at IS NULL FOR UPDATE', [name]);
    await tx.query('DELETE FROM service_tokens WHERE expires_at IS NOT NULL AND expires_at <= $1', [now]);
    if (row && graceMs > 0) await tx.query('UPDATE service_tokens SET expires_at = $2 WHERE token_hash = $1', [row.token_hash, expiresAt]);
    else if (row) await tx.query('DELETE FROM service_tokens WHERE token_hash = $1', [row.token_hash]);
    await tx.query('INSERT INTO service_tokens (token_hash, name, hint, created_at) VALUES ($1, $2, $3, $4)', [hashServiceToken(token), name, hintOf(token), now]);
    await tx.query('SELECT pg_notify($1, $2)', [db.channelName(SERVICE_TOKENS_CHANNEL), name]);
  });
  return { token, expiresAt };
}

async function acceptedTokens(db: Queryable): Promise<AcceptedServiceToken[]> {
  const rows = await db.query<{ token_hash: string; name: string; expires_at: Date | string | null }>('SELECT token_hash, name, expires_at FROM service_tokens');
  return rows.map((r) => ({ hash: r.token_hash, name: r.name, ...(r.expires_at === null ? {} : { expiresAt: new Date(r.expires_at) }) }));
}

/** The live token set: re-read on NOTIFY and, lazily, when old (live-copy.ts), as the keys. */
async function watchServiceTokens(db: Db, configured: string | undefined): Promise<ServiceTokenSource> {
  if (configured !== undefined) {
    const fixed = [{ hash: hashServiceToken(configured), name: DEFAULT_SERVICE_TOKEN_NAME }];
    return { current: () => fixed };
  }
  return liveCopy(db, SERVICE_TOKENS_CHANNEL, () => acceptedTokens(db));
}
