/*
 * SQL for the fan-out of object recipients to their subscribers (knock-api.md §5.1).
 * Plans checked with EXPLAIN on PostgreSQL 15 (an object with 100k subscribers):
 * - claim: Limit -> LockRows -> Index Scan using fanouts_pending_idx;
 * - page: Limit -> Index Scan using subscriptions_pkey (object, subscriber > cursor), so a page
 *   costs the same at the start and at the end of a large fan-out; the run insert probes
 *   recipient_runs_once_idx for ON CONFLICT;
 * - cancel: LockRows -> Sort(id) -> Index Scan using fanouts_cancel_idx.
 */
import type { CancelMatch, RunOutcome } from '../domain/run.js';
import type { FanoutPage, NewFanoutRun } from '../domain/fanout.js';
import { outcomeWriteParams, outcomeWritesSql } from './checkpoint.js';
import type { Queryable } from './db.js';

/**
 * Leases the oldest pending fan-out that no other process holds (or whose holder's lease ran
 * out) and reads its next page of subscribers. Nothing is locked after this returns: the page
 * is planned outside any transaction and committed by `commitFanoutPage`. Returns null when no
 * fan-out is pending.
 */
export async function claimFanoutPage(q: Queryable, owner: string, pageSize: number, now: Date, leaseUntil: Date): Promise<FanoutPage | null> {
  const leased = await q.query<{
    id: string; depth: number; cursor_collection: string | null; cursor_id: string | null; object_collection: string; object_id: string;
    cancelled_recipients: { collection: string; id: string }[];
    t_id: string; workflow_key: string; workflow_sha: string; actor: FanoutPage['trigger']['actor']; tenant_id: string | null;
    cancellation_key: string | null; data: Record<string, unknown>; settings: FanoutPage['trigger']['settings']; source: FanoutPage['trigger']['source'];
  }>(
    `WITH f AS (
       SELECT id FROM fanouts
        WHERE status = 'pending' AND (lease_until IS NULL OR lease_until <= $2 OR lease_owner = $1)
        ORDER BY inserted_at LIMIT 1
        FOR UPDATE SKIP LOCKED
     ), leased AS (
       UPDATE fanouts SET lease_owner = $1, lease_until = $3 FROM f WHERE fanouts.id = f.id
       RETURNING fanouts.*
     )
     SELECT l.id, l.depth, l.cursor_collection, l.cursor_id, l.object_collection, l.object_id, l.cancelled_recipients,
            t.id AS t_id, t.workflow_key, t.workflow_sha, t.actor, t.tenant_id, t.cancellation_key, t.data, t.settings,
            NULLIF(t.source, '{"type":"api"}'::jsonb) AS source
       FROM leased l JOIN workflow_triggers t ON t.id = l.workflow_run_id`,
    [owner, now, leaseUntil],
  );
  if (leased.length === 0) return null;
  const f = leased[0];
  const cursor = f.cursor_collection === null || f.cursor_id === null ? null : { collection: f.cursor_collection, id: f.cursor_id };
  const cancelled = new Set(f.cancelled_recipients.map((r) => `${r.collection}\u0000${r.id}`));
  return readFanoutPage(q, {
    fanoutId: f.id,
    depth: f.depth,
    cursor,
    trigger: {
      id: f.t_id, workflow_key: f.workflow_key, workflow_sha: f.workflow_sha, actor: f.actor, tenant_id: f.tenant_id,
      cancellation_key: f.cancellation_key, data: f.data, settings: f.settings, source: f.source,
    },
    object: { collection: f.object_collection, id: f.object_id },
    cancelled,
  }, pageSize);
}

/**
 * Reads the page after `prev` of a fan-out this process still leases, while `prev` is being
 * committed (the engine plans a page as the one before it commits). Its commit holds only once
 * `prev`'s has moved the cursor to where this page starts.
 */
export async function readNextFanoutPage(q: Queryable, prev: FanoutPage, pageSize: number): Promise<FanoutPage> {
  const last = prev.subscribers.at(-1);
  return readFanoutPage(q, { ...prev, cursor: last ? { collection: last.collection, id: last.id } : prev.cursor }, pageSize);
}

async function readFanoutPage(q: Queryable, at: Omit<FanoutPage, 'subscribers' | 'last'>, pageSize: number): Promise<FanoutPage> {
  const { object, cursor } = at;
  // Keyset page over subscriptions_pkey (object, subscriber): as cheap at the end of a large
  // fan-out as at its start. Two texts, so neither plan has to allow for the other's cursor.
  const rows = await q.query<{ recipient_collection: string; recipient_id: string; properties: Record<string, unknown> | null }>(
    cursor === null
      ? `SELECT recipient_collection, recipient_id, properties FROM subscriptions
          WHERE object_collection = $1 AND object_id = $2
          ORDER BY recipient_collection, recipient_id LIMIT $3`
      : `SELECT recipient_collection, recipient_id, properties FROM subscriptions
          WHERE object_collection = $1 AND object_id = $2 AND (recipient_collection, recipient_id) > ($4, $5)
          ORDER BY recipient_collection, recipient_id LIMIT $3`,
    cursor === null ? [object.collection, object.id, pageSize] : [object.collection, object.id, pageSize, cursor.collection, cursor.id],
    { prepare: true },
  );
  return {
    ...at,
    subscribers: rows.map((r) => ({
      collection: r.recipient_collection, id: r.recipient_id, properties: r.properties,
      cancelled: at.cancelled.has(`${r.recipient_collection}\u0000${r.recipient_id}`),
    })),
    last: rows.length < pageSize,
  };
}

/**
 * Commits a page in ONE statement, only while the page's lease and starting cursor still hold
 * (a cancel clears the lease, another process's page moves the cursor): creates its runs (a
 * recipient this trigger already reached keeps its run: the unique run index), writes the
 * events, messages, message events and delivery jobs of the runs created already advanced
 * (`outcomes`, shared with the checkpoint: checkpoint.ts), queues the fan-out one level down
 * for object subscribers (Knock stops at depth 2), moves the cursor and renews the lease for the
 * next page (ends it after the last).
 * Returns null when the page no longer holds (nothing was written), else the ids of the runs
 * created that are not cancelled.
 */
export async function commitFanoutPage(
  q: Queryable, owner: string, page: FanoutPage, runs: NewFanoutRun[], outcomes: RunOutcome[], now: Date, leaseUntil: Date, notifyChannel: string | null,
): Promise<string[] | null> {
  const lastRead = page.subscribers.at(-1) ?? null;
  const rows = await q.query<{ held: boolean; ids: string[] }>(
    `WITH f AS (
       SELECT * FROM fanouts
        WHERE id = $1 AND status = 'pending' AND lease_owner = $2
          AND cursor_collection IS NOT DISTINCT FROM $3::text AND cursor_id IS NOT DISTINCT FROM $4::text
        FOR UPDATE
     ), t AS (
       SELECT wt.* FROM workflow_triggers wt JOIN f ON wt.id = f.workflow_run_id
     ), ins AS (
       INSERT INTO recipient_runs (id, workflow_run_id, workflow_key, workflow_sha, recipient_collection, recipient_id,
                                   actor, tenant_id, cancellation_key, data, status, position, state, source, error_count,
                                   wake_at, inserted_at, updated_at)
       SELECT x.id, t.id, t.workflow_key, t.workflow_sha, x.c, x.r, t.actor, t.tenant_id, t.cancellation_key, COALESCE(x.data, t.data),
              x.status, x.position, x.state, NULLIF(t.source, '{"type":"api"}'::jsonb), COALESCE(x.error_count, 0), x.wake_at, $5, $5
         FROM jsonb_to_recordset($6::jsonb)
           AS x(id uuid, c text, r text, status text, position int, state jsonb, wake_at timestamptz, data jsonb, error_count int), t
       ON CONFLICT (workflow_run_id, recipient_collection, recipient_id) DO NOTHING
       RETURNING id, recipient_collection, recipient_id, status
     ), r AS (
       SELECT id FROM ins WHERE status <> 'cancelled'
     )${outcomeWritesSql('r', { events: 7, messages: 8, notify: 9 })}, children AS (
       INSERT INTO fanouts (id, workflow_run_id, workflow_key, cancellation_key, object_collection, object_id, depth,
                            cancelled_recipients, status, inserted_at, updated_at)
       SELECT gen_random_uuid(), f.workflow_run_id, f.workflow_key, f.cancellation_key, i.recipient_collection, i.recipient_id, f.depth + 1,
              f.cancelled_recipients, 'pending', $5, $5
         FROM ins i, f
        WHERE f.depth < 2 AND i.recipient_collection <> '$users' AND i.status <> 'cancelled'
          AND EXISTS (SELECT 1 FROM subscriptions s2 WHERE s2.object_collection = i.recipient_collection AND s2.object_id = i.recipient_id)
     ), moved AS (
       UPDATE fanouts SET
         cursor_collection = COALESCE($10::text, fanouts.cursor_collection),
         cursor_id = COALESCE($11::text, fanouts.cursor_id),
         expanded = fanouts.expanded + (SELECT count(*) FROM r),
         status = CASE WHEN $12::boolean THEN 'done' ELSE 'pending' END,
         -- The lease is renewed for the next page (already being planned), ended with the last.
         lease_owner = CASE WHEN $12::boolean THEN NULL ELSE fanouts.lease_owner END,
         lease_until = CASE WHEN $12::boolean THEN NULL ELSE $13::timestamptz END,
         updated_at = $5
         FROM f WHERE fanouts.id = f.id
     )
     SELECT EXISTS (SELECT 1 FROM f) AS held, COALESCE((SELECT array_agg(id) FROM r), '{}') AS ids
      WHERE (SELECT count(*) FROM n) >= 0`,
    [
      page.fanoutId, owner, page.cursor?.collection ?? null, page.cursor?.id ?? null, now,
      JSON.stringify(runs.map((run) => ({
        id: run.id, c: run.collection, r: run.recipientId, status: run.status, position: run.position, state: run.state,
        wake_at: run.wakeAt, data: run.data ?? null, error_count: run.errorCount ?? null,
      }))),
      ...outcomeWriteParams(outcomes), notifyChannel,
      lastRead?.collection ?? null, lastRead?.id ?? null, page.last, leaseUntil,
    ],
  );
  return rows[0]?.held ? rows[0].ids.map(String) : null;
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
       -- A page planned before this cancel must not commit (commitFanoutPage checks the lease).
       lease_owner = NULL, lease_until = NULL,
       cancelled_recipients = CASE WHEN $2::jsonb IS NULL THEN cancelled_recipients ELSE cancelled_recipients || $2::jsonb END,
       updated_at = $3
     WHERE id = ANY($1::uuid[]) AND status = 'pending'`,
    [locked.map((r) => r.id), recipients === null ? null : JSON.stringify(recipients), now],
  );
  return locked.length;
}
