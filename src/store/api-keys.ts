import { randomBytes } from 'node:crypto';
import type { Db, Queryable } from './db.js';
import { liveCopy } from './live-copy.js';

export type KeyKind = 'secret' | 'public';

/** A key that authenticates requests: the current one of its kind, or a retired one until `expiresAt`. */
export interface ActiveKey {
  kind: KeyKind;
  key: string;
  /** Absent for the current key; a rotated-out key stops working at this instant. */
  expiresAt?: Date;
}

/**
 * What the API accepts, kept current while the process runs: `herald keys rotate/revoke` in
 * another process changes the stored keys and sends a NOTIFY (plus a periodic re-read, in case
 * the notification was missed while LISTEN reconnected).
 */
export interface KeySource {
  /** The keys accepted now (expired ones are filtered by the matcher against its clock). */
  current(): readonly ActiveKey[];
}

export interface KeyPair {
  secret: string;
  public: string;
  /** True when this call generated and stored the keys (first start). */
  generated: boolean;
  /** Live set of accepted keys (the pair above, plus rotated-out keys in their grace period). */
  source?: KeySource;
}

export interface RetiredKey {
  kind: KeyKind;
  key: string;
  retiredAt: Date;
  expiresAt: Date;
}

/** Default grace period of a rotated-out key: a day, so a deploy cycle can pick up the new one. */
export const DEFAULT_ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;

/** NOTIFY channel told about every key change. */
export const API_KEYS_CHANNEL = 'herald_api_keys';


export const newKey = (prefix: 'sk' | 'pk') => `${prefix}_${randomBytes(24).toString('base64url')}`;

/**
 * Configured keys win. Otherwise the keys stored by a previous start are used, and on the very
 * first start a pair is generated and stored, so every process sharing the database agrees.
 */
export async function ensureApiKeys(db: Db, configured: { secret?: string; public?: string }): Promise<KeyPair> {
  const generated = await createApiKeys(db);
  const stored = await storedKeys(db);
  const pair = {
    secret: configured.secret ?? stored.current.secret,
    public: configured.public ?? stored.current.public,
    generated: generated !== null && (!configured.secret || !configured.public),
  };
  return { ...pair, source: await watchKeys(db, configured, stored) };
}

/** Generates and stores a pair when none is stored; null when keys already exist. */
export async function createApiKeys(db: Queryable): Promise<{ secret: string; public: string } | null> {
  const proposed = { secret: newKey('sk'), public: newKey('pk') };
  const inserted = await db.query<{ kind: string }>(
    `INSERT INTO api_keys (kind, key) VALUES ('secret', $1), ('public', $2)
     ON CONFLICT (kind) DO NOTHING RETURNING kind`,
    [proposed.secret, proposed.public],
  );
  return inserted.length > 0 ? proposed : null;
}

export interface StoredKeys {
  current: { secret: string; public: string };
  /** Rotated-out keys whose grace has not been revoked (expired ones included until the next rotation prunes them). */
  retired: RetiredKey[];
}

export async function storedKeys(db: Queryable): Promise<StoredKeys> {
  const rows = await db.query<{ kind: KeyKind; key: string }>('SELECT kind, key FROM api_keys');
  const retired = await db.query<{ kind: KeyKind; key: string; retired_at: Date | string; expires_at: Date | string }>(
    'SELECT kind, key, retired_at, expires_at FROM api_keys_retired ORDER BY retired_at',
  );
  const current = Object.fromEntries(rows.map((r) => [r.kind, r.key])) as { secret: string; public: string };
  return {
    current,
    retired: retired.map((r) => ({ kind: r.kind, key: r.key, retiredAt: new Date(r.retired_at), expiresAt: new Date(r.expires_at) })),
  };
}

/**
 * Replaces the current key of `kind` with a new one; the old one keeps working for `graceMs`
 * (0 = stops at once). Retired keys past their grace are pruned here. Tells running processes.
 */
export async function rotateApiKey(db: Db, kind: KeyKind, graceMs: number, now: Date): Promise<{ key: string; previous: string; expiresAt: Date }> {
  const key = newKey(kind === 'secret' ? 'sk' : 'pk');
  const expiresAt = new Date(now.getTime() + graceMs);
  const previous = await db.transaction(async (tx) => {
    const [row] = await tx.query<{ key: string }>('SELECT key FROM api_keys WHERE kind = $1 FOR UPDATE', [kind]);
    if (!row) throw new Error(`no ${kind} key is stored yet: run "herald keys create" (or start Herald once) first`);
    await tx.query('DELETE FROM api_keys_retired WHERE expires_at <= $1', [now]);
    if (graceMs > 0) {
      await tx.query('INSERT INTO api_keys_retired (key, kind, retired_at, expires_at) VALUES ($1, $2, $3, $4)', [row.key, kind, now, expiresAt]);
    }
    await tx.query('UPDATE api_keys SET key = $2, created_at = $3 WHERE kind = $1', [kind, key, now]);
    await tx.query('SELECT pg_notify($1, $2)', [db.channelName(API_KEYS_CHANNEL), kind]);
    return row.key;
  });
  return { key, previous, expiresAt };
}

/**
 * Ends a rotated-out key's grace at once. The current key cannot be revoked on its own (the
 * environment would be left without one): rotate it with `graceMs` 0 instead.
 */
export async function revokeRetiredKey(db: Db, key: string): Promise<boolean> {
  const deleted = await db.query('DELETE FROM api_keys_retired WHERE key = $1 RETURNING kind', [key]);
  if (deleted.length > 0) await db.notify(API_KEYS_CHANNEL, 'revoked');
  return deleted.length > 0;
}

/** Whether `key` is the current key of some kind (for a clearer message from `herald keys revoke`). */
export async function currentKeyKind(db: Queryable, key: string): Promise<KeyKind | undefined> {
  const [row] = await db.query<{ kind: KeyKind }>('SELECT kind FROM api_keys WHERE key = $1', [key]);
  return row?.kind;
}

function activeFrom(stored: StoredKeys, configured: { secret?: string; public?: string }): ActiveKey[] {
  const out: ActiveKey[] = [];
  for (const kind of ['secret', 'public'] as const) {
    // A configured key replaces the stored ones of its kind entirely, rotated-out ones included.
    if (configured[kind]) { out.push({ kind, key: configured[kind]! }); continue; }
    if (stored.current[kind]) out.push({ kind, key: stored.current[kind] });
    for (const r of stored.retired) if (r.kind === kind) out.push({ kind, key: r.key, expiresAt: r.expiresAt });
  }
  return out;
}

/** The live key set: re-read on NOTIFY and, lazily, when it is old (live-copy.ts). */
async function watchKeys(db: Db, configured: { secret?: string; public?: string }, initial: StoredKeys): Promise<KeySource> {
  return liveCopy(db, API_KEYS_CHANNEL, async () => activeFrom(await storedKeys(db), configured), activeFrom(initial, configured));
}
