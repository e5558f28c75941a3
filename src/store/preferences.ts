import type { EntityKey } from '../domain/recipients.js';
import type { Queryable } from './db.js';
import { deepMerge, getPreferenceSets, upsertEntity, type PreferenceSetRow } from './entities.js';

/*
 * Preference sets of users and objects (knock-api.md §2.2, §2.3, §5.11 "Writes"). A set is
 * stored as its PreferenceSet fields (workflows, categories, channel_types, channels,
 * commercial_subscribed, …) without `id`; the set id is the row key ('default' or a tenant id).
 */

export type PersistenceStrategy = 'replace' | 'merge';

export async function getPreferenceSet(q: Queryable, key: EntityKey, setId: string): Promise<PreferenceSetRow | null> {
  const rows = await q.query<PreferenceSetRow>(
    'SELECT * FROM preference_sets WHERE collection = $1 AND id = $2 AND set_id = $3',
    [key.collection, key.id, setId],
  );
  return rows[0] ?? null;
}

/** Every set of one entity, ordered by set id. */
export function listPreferenceSets(q: Queryable, key: EntityKey): Promise<PreferenceSetRow[]> {
  return getPreferenceSets(q, [key]);
}

/**
 * Writes one set, creating the entity if it does not exist yet. `replace` overwrites the stored
 * set; `merge` deep-merges `preferences` into it. The entity upsert row-locks the entity, so the
 * read-merge-write of `merge` cannot race with another write to the same entity — provided the
 * caller runs this inside a transaction, as every route does.
 */
export async function writePreferenceSet(
  q: Queryable,
  key: EntityKey,
  setId: string,
  preferences: Record<string, unknown>,
  strategy: PersistenceStrategy,
  now: Date,
): Promise<PreferenceSetRow> {
  await upsertEntity(q, key, {}, now);
  let next = preferences;
  if (strategy === 'merge') {
    const stored = await getPreferenceSet(q, key, setId);
    next = deepMerge(stored?.preferences ?? {}, preferences) as Record<string, unknown>;
  }
  const rows = await q.query<PreferenceSetRow>(
    `INSERT INTO preference_sets (collection, id, set_id, preferences, updated_at) VALUES ($1, $2, $3, $4::jsonb, $5)
     ON CONFLICT (collection, id, set_id) DO UPDATE SET preferences = EXCLUDED.preferences, updated_at = EXCLUDED.updated_at
     RETURNING *`,
    [key.collection, key.id, setId, JSON.stringify(next), now],
  );
  return rows[0];
}

/** Removes one set; true when it existed. The entity itself is kept. */
export async function deletePreferenceSet(q: Queryable, key: EntityKey, setId: string): Promise<boolean> {
  const rows = await q.query(
    'DELETE FROM preference_sets WHERE collection = $1 AND id = $2 AND set_id = $3 RETURNING set_id',
    [key.collection, key.id, setId],
  );
  return rows.length > 0;
}
