/**
 * Secrets generated once per Herald install (migration 024): the first process that needs one
 * stores it, every process sharing the database then reads the same value. The value is never
 * returned by the API and never logged.
 */
import { randomBytes } from 'node:crypto';
import type { Queryable } from './db.js';

export type InstallSecretName = 'link_tracking' | 'dashboard_session';

/** The install's secret of this name (32 random bytes), generated and stored on first use. */
export async function ensureInstallSecret(q: Queryable, name: InstallSecretName, now: Date): Promise<Buffer> {
  await q.query(
    `INSERT INTO install_secrets (name, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
    [name, randomBytes(32).toString('base64url'), now],
  );
  const rows = await q.query<{ secret: string }>('SELECT secret FROM install_secrets WHERE name = $1', [name]);
  return Buffer.from(rows[0].secret, 'base64url');
}
