/*
 * SQL for the fan-out of object recipients to their subscribers (knock-api.md §5.1).
 * Plans checked with EXPLAIN on PostgreSQL 15 (an object with 100k subscribers):
 * - claim: Limit -> LockRows -> Index Scan using fanouts_pending_idx;
 * - page: Limit -> Index Scan using subscriptions_pkey (object, subscriber > cursor), so a page
 *   costs the same at the start and at the end of a large fan-out; the run insert probes
 *   recipient_runs_once_idx for ON CONFLICT;
 * - cancel: LockRows -> Sort(id) -> Index Scan using fanouts_cancel_idx.
 */
import type { CancelMatch } from '../domain/run.js';
import type { Queryable } from './db.js';

export interface FanoutPageResult {
  /** Subscribers read in this page (0 = the fan-out was already complete). */
  read: number;
  /** Runs created (subscribers already reached, the actor and cancelled ones excluded). */
  created: number;
}

/**
 * Claims one pending fan-out (FOR UPDATE SKIP LOCKED) and expands one page of its subscribers
 * into recipient runs. Must run inside a transaction: the row lock is held until commit, so two
 * workers never expand the same fan-out at once, a crash rolls the page back whole, and a cancel
 * that locks the fan-out waits for the page and then sees its runs.
 * Returns null when no fan-out is pending.
 */
export async function expandNextFanoutPage(tx: Queryable, pageSize: number, now: Date): Promise<FanoutPageResult | null> {
  const claimed = await tx.query<{ id: string }>(
    `SELECT id FROM fanouts WHERE status = 'pending' ORDER BY inserted_at LIMIT 1 FOR UPDATE SKIP LOCKED`,
  );
  if (claimed.length === 0) return null;
  // One statement: read a keyset page of subscribers, create their runs (dropping the actor,
  // and recipients this trigger already reached via the unique run index), queue the fan-out
  // of object subscribers one level down (Knock stops at depth 2), and move the cursor.
  const rows = await tx.query<FanoutPageResult>(
    `WITH f AS (SELECT * FROM fanouts WHERE id = $1),
     t AS (SELECT wt.* FROM workflow_triggers wt JOIN f ON wt.id = f.workflow_run_id),
     page AS (
       SELECT s.* FROM subscriptions s, f
        WHERE s.object_collection = f.object_collection AND s.object_id = f.object_id
          AND (f.cursor_collection IS NULL OR (s.recipient_collection, s.recipient_id) > (f.cursor_collection, f.cursor_id))
        ORDER BY s.recipient_collection, s.recipient_id
        LIMIT $2
     ),
     eligible AS (
       SELECT p.*,
              f.cancelled_recipients @> jsonb_build_array(jsonb_build_object('collection', p.recipient_collection, 'id', p.recipient_id)) AS cancelled
         FROM page p, f, t
        WHERE t.actor IS NULL OR NOT (t.actor->>'collection' = p.recipient_collection AND t.actor->>'id' = p.recipient_id)
     ),
     ins AS (
       INSERT INTO recipient_runs (id, workflow_run_id, workflow_key, workflow_sha, recipient_collection, recipient_id,
                                   actor, tenant_id, cancellation_key, data, status, position, state, source, wake_at, inserted_at, updated_at)
       SELECT gen_random_uuid(), t.id, t.workflow_key, t.workflow_sha, e.recipient_collection, e.recipient_id,
              t.actor, t.tenant_id, t.cancellation_key, t.data,
              CASE WHEN e.cancelled THEN 'cancelled' ELSE 'queued' END, 0,
              jsonb_build_object('settings', t.settings,
                                 'subscription', jsonb_build_object('object', jsonb_build_object('collection', e.object_collection, 'id', e.object_id),
                                                                    'properties', e.properties)),
              NULLIF(t.source, '{"type":"api"}'::jsonb),
              CASE WHEN e.cancelled THEN NULL ELSE $3::timestamptz END, $3, $3
         FROM eligible e, t
       ON CONFLICT (workflow_run_id, recipient_collection, recipient_id) DO NOTHING
       RETURNING recipient_collection, recipient_id, status
     ),
     children AS (
       INSERT INTO fanouts (id, workflow_run_id, workflow_key, cancellation_key, object_collection, object_id, depth,
                            cancelled_recipients, status, inserted_at, updated_at)
       SELECT gen_random_uuid(), f.workflow_run_id, f.workflow_key, f.cancellation_key, i.recipient_collection, i.recipient_id, f.depth + 1,
              f.cancelled_recipients, 'pending', $3, $3
         FROM ins i, f
        WHERE f.depth < 2 AND i.recipient_collection <> '$users' AND i.status = 'queued'
          AND EXISTS (SELECT 1 FROM subscriptions s2 WHERE s2.object_collection = i.recipient_collection AND s2.object_id = i.recipient_id)
     ),
     last AS (
       SELECT recipient_collection, recipient_id FROM page ORDER BY recipient_collection DESC, recipient_id DESC LIMIT 1
     ),
     moved AS (
       UPDATE fanouts SET
         cursor_collection = COALESCE((SELECT recipient_collection FROM last), fanouts.cursor_collection),
         cursor_id = COALESCE((SELECT recipient_id FROM last), fanouts.cursor_id),
         expanded = fanouts.expanded + (SELECT count(*) FROM ins WHERE status = 'queued'),
         status = CASE WHEN (SELECT count(*) FROM page) < $2 THEN 'done' ELSE 'pending' END,
         updated_at = $3
       WHERE fanouts.id = $1
     )
     SELECT (SELECT count(*) FROM page)::int AS read, (SELECT count(*) FROM ins WHERE status = 'queued')::int AS created`,
    [claimed[0].id, pageSize, now],
  );
  return rows[0];
}

/**
 * Applies a cancel to fan-outs still expanding for its (workflow, cancellation key): a cancel of
 * every recipient stops them; a cancel of some recipients is remembered so their runs are
 * created cancelled. Locks the rows in id order first (no deadlock between two cancels) and
 * waits for a page in progress, so the caller's following UPDATE of runs sees that page's runs.
 */
export async function cancelPendingFanouts(tx: Queryable, match: CancelMatch, now: Date): Promise<number> {
  const locked = await tx.query<{ id: string }>(
    `SELECT id FROM fanouts WHERE workflow_key = $1 AND cancellation_key = $2 AND status = 'pending' ORDER BY id FOR UPDATE`,
    [match.workflowKey, match.cancellationKey],
  );
  if (locked.length === 0) return 0;
  const recipients = match.recipients?.map((r) => ({ collection: r.collection, id: r.id })) ?? null;
  await tx.query(
    `UPDATE fanouts SET
       status = CASE WHEN $2::jsonb IS NULL THEN 'cancelled' ELSE status END,
       cancelled_recipients = CASE WHEN $2::jsonb IS NULL THEN cancelled_recipients ELSE cancelled_recipients || $2::jsonb END,
       updated_at = $3
     WHERE id = ANY($1::uuid[]) AND status = 'pending'`,
    [locked.map((r) => r.id), recipients === null ? null : JSON.stringify(recipients), now],
  );
  return locked.length;
}
