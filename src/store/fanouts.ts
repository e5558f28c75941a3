/*
 * SQL for the fan-out of object recipients to their subscribers (knock-api.md §5.1), in pages
 * (migration 028): a page is reserved (the fan-out's cursor moves past it and a fanout_pages row
 * records it, leased), planned outside any transaction (engine/fanout-page.ts), and committed in
 * one statement that deletes its row. Plans checked with EXPLAIN on PostgreSQL 15 (an object
 * with 100k subscribers):
 * - reserve: Limit -> LockRows -> Index Scan using fanouts_pending_idx; the page: Limit -> Index
 *   Scan using subscriptions_pkey (object, subscriber > cursor), as cheap at the end of a large
 *   fan-out as at its start;
 * - take over: Limit -> LockRows -> Index Scan using fanout_pages_lease_idx;
 * - commit: the page row by its primary key; the run insert probes recipient_runs_once_idx;
 * - cancel: fanouts_cancel_idx and fanout_pages_cancel_idx, then fanouts by primary key.
 */
import type { CancelMatch, RunOutcome } from '../domain/run.js';
import type { FanoutPage, NewFanoutRun } from '../domain/fanout.js';
import { outcomeWriteParams, outcomeWritesSql, RUN_COLUMNS_FOR_MESSAGES } from './checkpoint.js';
import type { Db, Queryable } from './db.js';

type Subscriber = FanoutPage['subscribers'][number];

/** The fan-out and trigger columns a page carries (both the reservation and a takeover read them). */
const FANOUT_COLUMNS = `f.id AS fanout_id, f.depth, f.status, f.object_collection, f.object_id, f.cancelled_recipients,
  t.id AS t_id, t.workflow_key, t.workflow_sha, t.actor, t.tenant_id, t.cancellation_key, t.data, t.settings,
  NULLIF(t.source, '{"type":"api"}'::jsonb) AS source`;

interface FanoutRow {
  fanout_id: string; depth: number; status: string; object_collection: string; object_id: string;
  cancelled_recipients: { collection: string; id: string }[];
  t_id: string; workflow_key: string; workflow_sha: string; actor: FanoutPage['trigger']['actor']; tenant_id: string | null;
  cancellation_key: string | null; data: Record<string, unknown>; settings: FanoutPage['trigger']['settings']; source: FanoutPage['trigger']['source'];
}

/**
 * A page to plan: first a page whose lease ended (its process died, or a cancel ended it), else
 * a new page reserved from the oldest pending fan-out. Nothing stays locked once this returns.
 * Returns null when there is no page to plan; a page without subscribers (the fan-out was
 * cancelled, or had nobody left) only needs its commit to clear it.
 */
export async function claimFanoutPage(db: Db, owner: string, pageSize: number, now: Date, leaseUntil: Date): Promise<FanoutPage | null> {
  return (await takeOverFanoutPage(db, owner, now, leaseUntil)) ?? reserveFanoutPage(db, owner, pageSize, now, leaseUntil);
}

async function takeOverFanoutPage(q: Queryable, owner: string, now: Date, leaseUntil: Date): Promise<FanoutPage | null> {
  const rows = await q.query<FanoutRow & { page_id: string; after_collection: string | null; after_id: string | null; last_collection: string; last_id: string }>(
    `WITH p AS (
       SELECT id FROM fanout_pages WHERE lease_until <= $2 ORDER BY lease_until LIMIT 1 FOR UPDATE SKIP LOCKED
     ), taken AS (
       UPDATE fanout_pages SET lease_owner = $1, lease_until = $3 FROM p WHERE fanout_pages.id = p.id
       RETURNING fanout_pages.*
     )
     SELECT taken.id AS page_id, taken.after_collection, taken.after_id, taken.last_collection, taken.last_id, ${FANOUT_COLUMNS}
       FROM taken JOIN fanouts f ON f.id = taken.fanout_id JOIN workflow_triggers t ON t.id = f.workflow_run_id`,
    [owner, now, leaseUntil],
  );
  if (rows.length === 0) return null;
  const row = rows[0];
  // A cancelled fan-out's pages create nothing: committing the page empty clears it.
  if (row.status === 'cancelled') return toPage(row, row.page_id, []);
  const after = row.after_collection === null || row.after_id === null ? null : { collection: row.after_collection, id: row.after_id };
  const subscribers = await q.query<{ recipient_collection: string; recipient_id: string; properties: Record<string, unknown> | null }>(
    `SELECT recipient_collection, recipient_id, properties FROM subscriptions
      WHERE object_collection = $1 AND object_id = $2
        AND ($3::text IS NULL OR (recipient_collection, recipient_id) > ($3, $4))
        AND (recipient_collection, recipient_id) <= ($5, $6)
      ORDER BY recipient_collection, recipient_id`,
    [row.object_collection, row.object_id, after?.collection ?? null, after?.id ?? null, row.last_collection, row.last_id],
  );
  return toPage(row, row.page_id, subscribers);
}

/**
 * Reserves the next page of the oldest pending fan-out nobody is reserving from (SKIP LOCKED):
 * one short transaction reads the page, records it leased to `owner` and moves the cursor past
 * it (the fan-out is done reserving when a page comes out short).
 */
async function reserveFanoutPage(db: Db, owner: string, pageSize: number, now: Date, leaseUntil: Date): Promise<FanoutPage | null> {
  return db.transaction(async (tx) => {
    const rows = await tx.query<FanoutRow & { cursor_collection: string | null; cursor_id: string | null }>(
      `SELECT f.cursor_collection, f.cursor_id, ${FANOUT_COLUMNS}
         FROM fanouts f JOIN workflow_triggers t ON t.id = f.workflow_run_id
        WHERE f.status = 'pending'
        ORDER BY f.inserted_at LIMIT 1
        FOR UPDATE OF f SKIP LOCKED`,
    );
    if (rows.length === 0) return null;
    const row = rows[0];
    const cursor = row.cursor_collection === null || row.cursor_id === null ? null : { collection: row.cursor_collection, id: row.cursor_id };
    // Keyset page over subscriptions_pkey (object, subscriber). Two texts, so neither plan has
    // to allow for the other's cursor.
    const subscribers = await tx.query<{ recipient_collection: string; recipient_id: string; properties: Record<string, unknown> | null }>(
      cursor === null
        ? `SELECT recipient_collection, recipient_id, properties FROM subscriptions
            WHERE object_collection = $1 AND object_id = $2
            ORDER BY recipient_collection, recipient_id LIMIT $3`
        : `SELECT recipient_collection, recipient_id, properties FROM subscriptions
            WHERE object_collection = $1 AND object_id = $2 AND (recipient_collection, recipient_id) > ($4, $5)
            ORDER BY recipient_collection, recipient_id LIMIT $3`,
      cursor === null ? [row.object_collection, row.object_id, pageSize] : [row.object_collection, row.object_id, pageSize, cursor.collection, cursor.id],
      { prepare: true },
    );
    const last = subscribers.at(-1) ?? null;
    const [{ page_id: pageId }] = await tx.query<{ page_id: string | null }>(
      `WITH page AS (
         INSERT INTO fanout_pages (id, fanout_id, workflow_run_id, workflow_key, cancellation_key, after_collection, after_id,
                                   last_collection, last_id, lease_owner, lease_until, inserted_at)
         SELECT gen_random_uuid(), f.id, f.workflow_run_id, f.workflow_key, f.cancellation_key, f.cursor_collection, f.cursor_id,
                $2, $3, $4, $5, $6
           FROM fanouts f WHERE f.id = $1 AND $2::text IS NOT NULL
         RETURNING id
       ), moved AS (
         UPDATE fanouts SET
           cursor_collection = COALESCE($2, cursor_collection), cursor_id = COALESCE($3, cursor_id),
           expanded = expanded + $7, status = CASE WHEN $7 < $8 THEN 'done' ELSE 'pending' END, updated_at = $6
         WHERE id = $1
       )
       SELECT (SELECT id FROM page) AS page_id`,
      [row.fanout_id, last?.recipient_collection ?? null, last?.recipient_id ?? null, owner, leaseUntil, now, subscribers.length, pageSize],
    );
    return toPage(row, pageId, subscribers);
  });
}

function toPage(row: FanoutRow, pageId: string | null, subscribers: { recipient_collection: string; recipient_id: string; properties: Record<string, unknown> | null }[]): FanoutPage {
  const cancelled = new Set(row.cancelled_recipients.map((r) => `${r.collection}\u0000${r.id}`));
  return {
    pageId,
    fanoutId: row.fanout_id,
    depth: row.depth,
    trigger: {
      id: row.t_id, workflow_key: row.workflow_key, workflow_sha: row.workflow_sha, actor: row.actor, tenant_id: row.tenant_id,
      cancellation_key: row.cancellation_key, data: row.data, settings: row.settings, source: row.source,
    },
    object: { collection: row.object_collection, id: row.object_id },
    subscribers: subscribers.map((r): Subscriber => ({
      collection: r.recipient_collection, id: r.recipient_id, properties: r.properties,
      cancelled: cancelled.has(`${r.recipient_collection}\u0000${r.recipient_id}`),
    })),
  };
}

/**
 * Commits a page in ONE statement, only while its lease holds (a cancel or a takeover ends it):
 * deletes the page's row, creates its runs (a recipient this trigger already reached keeps its
 * run: the unique run index), writes the events, messages, message events and delivery jobs of
 * the runs created already advanced (`outcomes`, shared with the checkpoint: checkpoint.ts) and
 * queues the fan-out one level down for object subscribers (Knock stops at depth 2).
 * Returns null when the page no longer holds (nothing was written), else the ids of the runs
 * created that are not cancelled.
 */
export async function commitFanoutPage(
  q: Queryable, owner: string, page: FanoutPage, runs: NewFanoutRun[], outcomes: RunOutcome[], now: Date, notifyChannel: string | null,
): Promise<string[] | null> {
  if (page.pageId === null) return [];
  const rows = await q.query<{ held: boolean; ids: string[] }>(
    `WITH pg AS (
       -- The gate: the page is still this process's (a cancel or a takeover ends its lease).
       DELETE FROM fanout_pages WHERE id = $1 AND lease_owner = $2 RETURNING fanout_id
     ), f AS (
       SELECT fanouts.* FROM fanouts JOIN pg ON fanouts.id = pg.fanout_id
     ), t AS (
       SELECT wt.* FROM workflow_triggers wt JOIN f ON wt.id = f.workflow_run_id
     ), ins AS (
       INSERT INTO recipient_runs (id, workflow_run_id, workflow_key, workflow_sha, recipient_collection, recipient_id,
                                   actor, tenant_id, cancellation_key, data, status, position, state, source, error_count,
                                   wake_at, inserted_at, updated_at)
       SELECT x.id, t.id, t.workflow_key, t.workflow_sha, x.c, x.r, t.actor, t.tenant_id, t.cancellation_key, COALESCE(x.data, t.data),
              x.status, x.position, x.state, NULLIF(t.source, '{"type":"api"}'::jsonb), COALESCE(x.error_count, 0), x.wake_at, $3, $3
         FROM jsonb_to_recordset($4::jsonb)
           AS x(id uuid, c text, r text, status text, position int, state jsonb, wake_at timestamptz, data jsonb, error_count int), t
       ON CONFLICT (workflow_run_id, recipient_collection, recipient_id) DO NOTHING
       RETURNING ${RUN_COLUMNS_FOR_MESSAGES}, status
     ), r AS (
       SELECT ${RUN_COLUMNS_FOR_MESSAGES} FROM ins WHERE status <> 'cancelled'
     )${outcomeWritesSql('r', { events: 5, messages: 6, notify: 7 })}, children AS (
       INSERT INTO fanouts (id, workflow_run_id, workflow_key, cancellation_key, object_collection, object_id, depth,
                            cancelled_recipients, status, inserted_at, updated_at)
       SELECT gen_random_uuid(), f.workflow_run_id, f.workflow_key, f.cancellation_key, i.recipient_collection, i.recipient_id, f.depth + 1,
              f.cancelled_recipients, 'pending', $3, $3
         FROM ins i, f
        WHERE f.depth < 2 AND i.recipient_collection <> '$users' AND i.status <> 'cancelled'
          AND EXISTS (SELECT 1 FROM subscriptions s2 WHERE s2.object_collection = i.recipient_collection AND s2.object_id = i.recipient_id)
     )
     SELECT EXISTS (SELECT 1 FROM pg) AS held, COALESCE((SELECT array_agg(id) FROM r), '{}') AS ids
      WHERE (SELECT count(*) FROM n) >= 0`,
    [
      page.pageId, owner, now,
      JSON.stringify(runs.map((run) => ({
        id: run.id, c: run.collection, r: run.recipientId, status: run.status, position: run.position, state: run.state,
        wake_at: run.wakeAt, data: run.data ?? null, error_count: run.errorCount ?? null,
      }))),
      ...outcomeWriteParams(outcomes), notifyChannel,
    ],
  );
  return rows[0]?.held ? rows[0].ids.map(String) : null;
}

/**
 * Gives a page back at once (its planning or commit failed here): any process, this one included,
 * takes it over on its next claim instead of after the lease.
 */
export async function releaseFanoutPage(q: Queryable, owner: string, pageId: string): Promise<void> {
  await q.query(`UPDATE fanout_pages SET lease_owner = NULL, lease_until = '-infinity' WHERE id = $1 AND lease_owner = $2`, [pageId, owner]);
}

/**
 * Applies a cancel to fan-outs still expanding for its (workflow, cancellation key): reserving
 * more pages, or with reserved pages not committed yet. A cancel of every recipient stops them
 * and drops their pages; a cancel of some recipients is remembered, so their runs are created
 * cancelled, and ends the leases of the pages in flight, so those are planned again with it.
 * Locks the fan-outs in id order first (no deadlock between two cancels), and waits for a page
 * reservation or commit in progress (row locks), so the caller's following UPDATE of runs sees
 * that page's runs.
 */
export async function cancelPendingFanouts(tx: Queryable, match: CancelMatch, now: Date): Promise<number> {
  const locked = await tx.query<{ id: string }>(
    `SELECT id FROM fanouts
      WHERE id IN (SELECT id FROM fanouts WHERE workflow_key = $1 AND cancellation_key = $2 AND status = 'pending'
                   UNION SELECT fanout_id FROM fanout_pages WHERE workflow_key = $1 AND cancellation_key = $2)
      ORDER BY id FOR UPDATE`,
    [match.workflowKey, match.cancellationKey],
  );
  if (locked.length === 0) return 0;
  const ids = locked.map((r) => r.id);
  const recipients = match.recipients?.map((r) => ({ collection: r.collection, id: r.id })) ?? null;
  await tx.query(
    `UPDATE fanouts SET
       status = CASE WHEN $2::jsonb IS NULL THEN 'cancelled' ELSE status END,
       cancelled_recipients = CASE WHEN $2::jsonb IS NULL THEN cancelled_recipients ELSE cancelled_recipients || $2::jsonb END,
       updated_at = $3
     WHERE id = ANY($1::uuid[])`,
    [ids, recipients === null ? null : JSON.stringify(recipients), now],
  );
  await tx.query(
    recipients === null
      ? 'DELETE FROM fanout_pages WHERE fanout_id = ANY($1::uuid[])'
      : `UPDATE fanout_pages SET lease_owner = NULL, lease_until = '-infinity' WHERE fanout_id = ANY($1::uuid[])`,
    [ids],
  );
  return locked.length;
}
