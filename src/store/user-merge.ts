/*
 * users.merge (knock-api.md §2.2): folds one user into another and deletes it. Everything runs
 * in the caller's transaction after both users are row-locked (in id order, so two merges of
 * the same pair cannot deadlock). Where both users hold the same thing (a property, the data of
 * a channel, a subscription, an audience membership) the target's wins, which is also what keeps
 * every unique key intact: the source's copies are inserted with ON CONFLICT DO NOTHING and the
 * leftovers go with the source (ON DELETE CASCADE). Plans: every statement is a primary-key or
 * (recipient_collection, recipient_id) index lookup — subscriptions_recipient_idx,
 * audience_members_user_idx, messages_feed_idx, schedules_recipient_idx / schedules_actor_idx.
 */
import { USERS } from '../domain/recipients.js';
import type { Queryable } from './db.js';
import { deepMerge, getPreferenceSets, type EntityRow } from './entities.js';

export type MergeOutcome = { merged: EntityRow } | { missing: 'user' | 'from_user' };

export async function mergeUsers(tx: Queryable, targetId: string, sourceId: string, now: Date): Promise<MergeOutcome> {
  const locked = await tx.query<{ id: string }>(
    `SELECT id FROM entities WHERE collection = $1 AND id = ANY($2::text[]) ORDER BY id FOR UPDATE`,
    [USERS, [targetId, sourceId]],
  );
  if (!locked.some((r) => r.id === targetId)) return { missing: 'user' };
  if (!locked.some((r) => r.id === sourceId)) return { missing: 'from_user' };
  const source = { collection: USERS, id: sourceId };
  const target = { collection: USERS, id: targetId };

  // Properties: the target's over the source's (a shallow jsonb merge, as identify does).
  await tx.query(
    `UPDATE entities t SET properties = s.properties || t.properties,
            created_at = COALESCE(t.created_at, s.created_at), updated_at = $3
       FROM entities s
      WHERE t.collection = $4 AND t.id = $1 AND s.collection = $4 AND s.id = $2`,
    [targetId, sourceId, now, USERS],
  );
  await tx.query(
    `INSERT INTO channel_data (collection, id, channel_id, data, updated_at)
     SELECT collection, $1, channel_id, data, updated_at FROM channel_data WHERE collection = $3 AND id = $2
     ON CONFLICT (collection, id, channel_id) DO NOTHING`,
    [targetId, sourceId, USERS],
  );
  // A set both users have is deep-merged, the target's settings winning key by key.
  const sets = await getPreferenceSets(tx, [source, target]);
  for (const set of sets.filter((s) => s.id === sourceId)) {
    const own = sets.find((s) => s.id === targetId && s.set_id === set.set_id);
    await tx.query(
      `INSERT INTO preference_sets (collection, id, set_id, preferences, updated_at) VALUES ($1, $2, $3, $4::jsonb, $5)
       ON CONFLICT (collection, id, set_id) DO UPDATE SET preferences = EXCLUDED.preferences, updated_at = EXCLUDED.updated_at`,
      [USERS, targetId, set.set_id, JSON.stringify(own ? deepMerge(set.preferences, own.preferences) : set.preferences), own ? now : set.updated_at],
    );
  }
  await tx.query(
    `INSERT INTO subscriptions (object_collection, object_id, recipient_collection, recipient_id, properties, inserted_at, updated_at)
     SELECT object_collection, object_id, recipient_collection, $1, properties, inserted_at, updated_at
       FROM subscriptions WHERE recipient_collection = $3 AND recipient_id = $2
     ON CONFLICT (object_collection, object_id, recipient_collection, recipient_id) DO NOTHING`,
    [targetId, sourceId, USERS],
  );
  await tx.query(
    `INSERT INTO audience_members (audience_key, user_id, tenant, added_at)
     SELECT audience_key, $1, tenant, added_at FROM audience_members WHERE user_collection = $3 AND user_id = $2
     ON CONFLICT (audience_key, user_id, tenant) DO NOTHING`,
    [targetId, sourceId, USERS],
  );
  // Messages (and so feed items) move whole; a message has no uniqueness per recipient.
  await tx.query(
    `UPDATE messages SET recipient_id = $1 WHERE recipient_collection = $3 AND recipient_id = $2`,
    [targetId, sourceId, USERS],
  );
  // Schedules for (or acted by) the source keep firing, now for the target.
  await tx.query('UPDATE schedules SET recipient_id = $1 WHERE recipient_collection = $3 AND recipient_id = $2', [targetId, sourceId, USERS]);
  await tx.query('UPDATE schedules SET actor_id = $1 WHERE actor_collection = $3 AND actor_id = $2', [targetId, sourceId, USERS]);
  await tx.query('DELETE FROM entities WHERE collection = $1 AND id = $2', [USERS, sourceId]);
  const rows = await tx.query<EntityRow>('SELECT * FROM entities WHERE collection = $1 AND id = $2', [USERS, targetId]);
  return { merged: rows[0] };
}
