import type { EntityKey } from '../domain/recipients.js';
import type { Queryable } from './db.js';
import { deepMerge, type PreferenceSetRow } from './entities.js';
import type { PersistenceStrategy } from './preferences.js';

/*
 * The environment's default preference set (knock-api.md §5.11): the lowest layer of preference
 * resolution. It lives in the database, not in config or a process cache, so every process sees
 * a change at its next channel step. Every statement here is a primary-key lookup on
 * environment_preference_sets (one row per set id; Knock has only 'default').
 *
 * `preferenceSetsWithDefault` is the worker's hot read: the recipients' sets and the environment
 * default in ONE statement (UNION ALL), so a batch of runs still costs one round trip for
 * preferences. Plan (EXPLAIN ANALYZE, PostgreSQL 15, 20k users, a batch of 50): Append of a
 * Nested Loop (HashAggregate over the unnest, Index Scan on preference_sets_pkey per recipient)
 * and a scan of environment_preference_sets (Seq Scan while it holds one row; its primary key
 * otherwise); 0.3 ms.
 */

export const ENVIRONMENT_DEFAULT_SET = 'default';

export interface EnvironmentPreferenceSetRow {
  set_id: string;
  preferences: Record<string, unknown>;
  updated_at: Date;
}

export async function getEnvironmentPreferenceSet(q: Queryable, setId = ENVIRONMENT_DEFAULT_SET): Promise<EnvironmentPreferenceSetRow | null> {
  const rows = await q.query<EnvironmentPreferenceSetRow>('SELECT * FROM environment_preference_sets WHERE set_id = $1', [setId]);
  return rows[0] ?? null;
}

/**
 * Writes the set: `replace` overwrites it, `merge` deep-merges into it. For `merge` the first
 * statement creates-or-locks the row and returns what is stored, so two concurrent merges apply
 * one after the other — run it inside a transaction.
 */
export async function writeEnvironmentPreferenceSet(
  q: Queryable,
  preferences: Record<string, unknown>,
  strategy: PersistenceStrategy,
  now: Date,
  setId = ENVIRONMENT_DEFAULT_SET,
): Promise<EnvironmentPreferenceSetRow> {
  let next = preferences;
  if (strategy === 'merge') {
    const [stored] = await q.query<{ preferences: Record<string, unknown> }>(
      `INSERT INTO environment_preference_sets (set_id, preferences, updated_at) VALUES ($1, '{}', $2)
       ON CONFLICT (set_id) DO UPDATE SET set_id = EXCLUDED.set_id
       RETURNING preferences`,
      [setId, now],
    );
    next = deepMerge(stored.preferences, preferences) as Record<string, unknown>;
  }
  const rows = await q.query<EnvironmentPreferenceSetRow>(
    `INSERT INTO environment_preference_sets (set_id, preferences, updated_at) VALUES ($1, $2::jsonb, $3)
     ON CONFLICT (set_id) DO UPDATE SET preferences = EXCLUDED.preferences, updated_at = EXCLUDED.updated_at
     RETURNING *`,
    [setId, JSON.stringify(next), now],
  );
  return rows[0];
}

/** Removes the set; true when it existed. */
export async function deleteEnvironmentPreferenceSet(q: Queryable, setId = ENVIRONMENT_DEFAULT_SET): Promise<boolean> {
  const rows = await q.query('DELETE FROM environment_preference_sets WHERE set_id = $1 RETURNING set_id', [setId]);
  return rows.length > 0;
}

export interface PreferenceSetsWithDefault {
  /** Every set of the given entities. */
  rows: PreferenceSetRow[];
  /** The environment default set; null when none is stored. */
  environmentDefault: Record<string, unknown> | null;
}

/** The entities' preference sets and the environment default set, in one statement. */
export async function preferenceSetsWithDefault(q: Queryable, keys: EntityKey[]): Promise<PreferenceSetsWithDefault> {
  // The environment row comes back with a NULL collection, which no entity row can have.
  const rows = await q.query<PreferenceSetRow & { collection: string | null }>(
    `SELECT collection, id, set_id, preferences, updated_at FROM preference_sets
     WHERE (collection, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
     UNION ALL
     SELECT NULL, NULL, set_id, preferences, updated_at FROM environment_preference_sets WHERE set_id = $3`,
    [keys.map((k) => k.collection), keys.map((k) => k.id), ENVIRONMENT_DEFAULT_SET],
  );
  let environmentDefault: Record<string, unknown> | null = null;
  const entityRows: PreferenceSetRow[] = [];
  for (const row of rows) {
    if (row.collection === null) environmentDefault = row.preferences;
    else entityRows.push(row as PreferenceSetRow);
  }
  return { rows: entityRows, environmentDefault };
}
