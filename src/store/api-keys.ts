import { randomBytes } from 'node:crypto';
import type { Queryable } from './db.js';

export interface KeyPair {
  secret: string;
  public: string;
  /** True when this call generated and stored the keys (first start). */
  generated: boolean;
}

const newKey = (prefix: 'sk' | 'pk') => `${prefix}_${randomBytes(24).toString('base64url')}`;

/**
 * Configured keys win. Otherwise the keys stored by a previous start are used, and on the very
 * first start a pair is generated and stored, so every process sharing the database agrees.
 */
export async function ensureApiKeys(db: Queryable, configured: { secret?: string; public?: string }): Promise<KeyPair> {
  const proposed = { secret: newKey('sk'), public: newKey('pk') };
  const inserted = await db.query<{ kind: string }>(
    `INSERT INTO api_keys (kind, key) VALUES ('secret', $1), ('public', $2)
     ON CONFLICT (kind) DO NOTHING RETURNING kind`,
    [proposed.secret, proposed.public],
  );
  const rows = await db.query<{ kind: string; key: string }>('SELECT kind, key FROM api_keys');
  const stored = Object.fromEntries(rows.map((r) => [r.kind, r.key]));
  return {
    secret: configured.secret ?? stored.secret,
    public: configured.public ?? stored.public,
    generated: inserted.length > 0 && (!configured.secret || !configured.public),
  };
}
