/**
 * Retention deletes (src/queue/retention-task.ts runs them): each function deletes ONE batch of
 * at most `limit` rows past their cutoff and returns how many it deleted. The rows are chosen
 * with `FOR UPDATE SKIP LOCKED` in the statement that deletes them, so several processes prune
 * at once without waiting on each other or deleting a row twice, and a row that live traffic
 * holds locked is simply left for a later pass. Every selection walks an index in cutoff order
 * (migrations/018_retention.sql, 020_retention_more.sql) and stops after `limit` rows: a batch
 * never scans a table (bench/retention.ts prints each plan on a few million rows). The kinds of
 * migration 020, EXPLAIN ANALYZE on PostgreSQL 15 with 500k closed batches (1.5M members, 950k
 * messages) and 500k each of throttle windows, cancel records and finished schedules, 500 rows:
 * batches: Index Scan batches_closed_idx (flushed_at, id) > cursor, then per batch an Index Only
 * Scan of messages_batch_idx and batch_members_pkey -> recipient_runs_pkey probes (144 ms);
 * throttle windows: throttle_windows_closes_idx (57 ms); cancel records:
 * cancellations_inserted_idx (60 ms); schedules: schedules_finished_idx (65 ms); retired keys:
 * a sequential scan of api_keys_retired, a table of a few rows. A full walk over those batches
 * (2,770 windows of 500, 43,749 deleted) took 13.1 s.
 * Children have no foreign keys (migrations/015), so they are deleted in the same statement, by
 * `= ANY(ARRAY(...))`: an array of at most `limit` keys is always looked up through the child's
 * index, where `IN (SELECT …)` may be planned as a hash join over the whole child table.
 */
import type { Db, Queryable } from './db.js';
import { sweepExpiredKeys } from './idempotency.js';
import { deleteExternalIdsSql } from './message-external-ids.js';

/**
 * The statements, exported so the benchmark can EXPLAIN exactly what runs. `OFFSET 0` in a
 * NOT EXISTS keeps it a per-row probe of an index (PostgreSQL does not turn such a subquery
 * into an anti-join, which it may plan as a hash over the whole other table): the walk of the
 * outer index in cutoff order then stops after `limit` rows.
 */
export const RETENTION_SQL = {
  runs: `WITH r AS (
       SELECT id FROM recipient_runs
        WHERE status IN ('completed', 'cancelled') AND updated_at < $1
        ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED
     ), ids AS (SELECT ARRAY(SELECT id FROM r) AS a),
        e AS (DELETE FROM run_events WHERE recipient_run_id = ANY ((SELECT a FROM ids)::uuid[])),
        h AS (DELETE FROM throttle_hits WHERE recipient_run_id = ANY ((SELECT a FROM ids)::uuid[])),
        d AS (DELETE FROM recipient_runs WHERE id = ANY ((SELECT a FROM ids)::uuid[]) RETURNING 1)
     SELECT count(*)::int AS n FROM d`,
  triggers: `WITH t AS (
       SELECT wt.id FROM workflow_triggers wt
        WHERE wt.inserted_at < $1
          AND NOT EXISTS (SELECT 1 FROM recipient_runs r WHERE r.workflow_run_id = wt.id OFFSET 0)
          AND NOT EXISTS (SELECT 1 FROM fanouts f WHERE f.workflow_run_id = wt.id AND f.status = 'pending' OFFSET 0)
          -- Reserved fan-out pages not committed yet (a handful at any time: no index needed).
          AND NOT EXISTS (SELECT 1 FROM fanout_pages p WHERE p.workflow_run_id = wt.id OFFSET 0)
        ORDER BY wt.inserted_at LIMIT $2 FOR UPDATE OF wt SKIP LOCKED
     ), ids AS (SELECT ARRAY(SELECT id FROM t) AS a),
        f AS (DELETE FROM fanouts WHERE workflow_run_id = ANY ((SELECT a FROM ids)::uuid[])),
        d AS (DELETE FROM workflow_triggers WHERE id = ANY ((SELECT a FROM ids)::uuid[]) RETURNING 1)
     SELECT count(*)::int AS n FROM d`,
  // One channel per statement: the (channel_id, inserted_at) index answers both conditions in
  // cutoff order. ORDER BY makes the walk stop after `limit` rows (without it a bitmap scan
  // may first collect every row past the cutoff).
  channelMessages: messagesSql(`channel_id = $1 AND inserted_at < $2 ORDER BY inserted_at`),
  archivedMessages: messagesSql(`archived_at IS NOT NULL AND archived_at < $2 AND channel_id = $1 ORDER BY archived_at`),
  bulkOperations: `WITH b AS (
       SELECT id FROM bulk_operations WHERE status IN ('completed', 'failed') AND updated_at < $1
        ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED
     ), d AS (DELETE FROM bulk_operations WHERE id IN (SELECT id FROM b) RETURNING 1)
     SELECT count(*)::int AS n FROM d`,
  idempotencyKeys: `SELECT key FROM idempotency_keys WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
  rateLimits: `WITH w AS (
       SELECT bucket, window_start FROM rate_limits WHERE window_start < $1
        ORDER BY window_start LIMIT $2 FOR UPDATE SKIP LOCKED
     ), d AS (DELETE FROM rate_limits r USING w WHERE r.bucket = w.bucket AND r.window_start = w.window_start RETURNING 1)
     SELECT count(*)::int AS n FROM d`,
  // The versions triggers use are read by a loose index scan (one probe of the sha index per
  // distinct version): a NOT EXISTS probe per version would be planned as a sequential scan when
  // every trigger has one of a few versions (the planner expects a match at once, and an unused
  // version has none, so the scan reads the whole table).
  workflowVersions: `WITH RECURSIVE used(sha) AS (
       (SELECT workflow_sha FROM workflow_triggers ORDER BY workflow_sha LIMIT 1)
       UNION ALL
       SELECT (SELECT t.workflow_sha FROM workflow_triggers t WHERE t.workflow_sha > used.sha ORDER BY t.workflow_sha LIMIT 1)
         FROM used WHERE used.sha IS NOT NULL
     ), gone AS (
       SELECT v.sha FROM workflow_versions v
        WHERE v.created_at < $1
          AND NOT EXISTS (SELECT 1 FROM workflows w WHERE w.sha = v.sha)
          AND NOT EXISTS (SELECT 1 FROM used u WHERE u.sha = v.sha)
        ORDER BY v.created_at LIMIT $2 FOR UPDATE OF v SKIP LOCKED
     ), d AS (DELETE FROM workflow_versions WHERE sha IN (SELECT sha FROM gone) RETURNING 1)
     SELECT count(*)::int AS n FROM d`,
  // Closed batches, swept in (flushed_at, id) order from a cursor the task keeps: a batch whose
  // feed message is still shown (kept up to the feed age, far past the batch age) is passed over
  // rather than walked again by every statement. The window `w` is at most `limit` batches and
  // is cut where their members (`items` = member rows) reach `limit`, so a statement deletes
  // about `limit` member rows whatever the batch sizes (at least one batch). `walked` < limit
  // means the walk reached the end: the task starts over from the beginning next time.
  batches: `WITH w AS MATERIALIZED (
       SELECT id, flushed_at, sum(items) OVER (ORDER BY flushed_at, id) - items AS before
         FROM (SELECT id, flushed_at, items FROM batches
                WHERE status = 'closed' AND flushed_at < $1 AND (flushed_at, id) > ($2::timestamptz, $3::uuid)
                ORDER BY flushed_at, id LIMIT $4) x
     ), s AS MATERIALIZED (SELECT id, flushed_at FROM w WHERE before < $4),
        pick AS (
       SELECT b.id FROM batches b
        WHERE b.id IN (SELECT id FROM s) AND b.status = 'closed'
          -- A message shows the batch's activities (feed, GET /v1/messages/:id/activities).
          AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.batch_id = b.id OFFSET 0)
          -- A member run still running may re-read the batch (a replayed join or settle).
          AND NOT EXISTS (SELECT 1 FROM batch_members bm JOIN recipient_runs r ON r.id = bm.recipient_run_id
                           WHERE bm.batch_id = b.id AND r.status IN ('queued', 'processing', 'paused') OFFSET 0)
        FOR UPDATE OF b SKIP LOCKED
     ), ids AS (SELECT ARRAY(SELECT id FROM pick) AS a),
        m AS (DELETE FROM batch_members WHERE batch_id = ANY ((SELECT a FROM ids)::uuid[])),
        d AS (DELETE FROM batches WHERE id = ANY ((SELECT a FROM ids)::uuid[]) RETURNING 1)
     SELECT (SELECT count(*) FROM d)::int AS n, (SELECT count(*) FROM w)::int AS walked, (SELECT count(*) FROM s)::int AS taken,
            (SELECT flushed_at::text FROM s ORDER BY flushed_at DESC, id DESC LIMIT 1) AS last_at,
            (SELECT id::text FROM s ORDER BY flushed_at DESC, id DESC LIMIT 1) AS last_id`,
  // A closed window counts nothing: the next hit of its key starts a new window whether the row
  // is there or not. The hit's upsert locks the row, so a window being counted is skipped.
  throttleWindows: `WITH w AS (
       SELECT scope_key FROM throttle_windows WHERE closes_at < $1
        ORDER BY closes_at LIMIT $2 FOR UPDATE SKIP LOCKED
     ), d AS (DELETE FROM throttle_windows t USING w WHERE t.scope_key = w.scope_key RETURNING 1)
     SELECT count(*)::int AS n FROM d`,
  cancellations: `WITH c AS (
       SELECT id FROM cancellations WHERE inserted_at < $1
        ORDER BY inserted_at LIMIT $2 FOR UPDATE SKIP LOCKED
     ), d AS (DELETE FROM cancellations WHERE id IN (SELECT id FROM c) RETURNING 1)
     SELECT count(*)::int AS n FROM d`,
  // A finished schedule has no next occurrence (and so no firing lease: the claim needs one).
  // It finished at its last firing, or at the update that ended it: the later of the two. An
  // update that gives it a next occurrence again locks the row (skipped) or has committed (the
  // locked row is re-checked and passed over).
  schedules: `WITH s AS (
       SELECT id FROM schedules
        WHERE next_occurrence_at IS NULL AND GREATEST(last_occurrence_at, updated_at) < $1
        ORDER BY GREATEST(last_occurrence_at, updated_at) LIMIT $2 FOR UPDATE SKIP LOCKED
     ), d AS (DELETE FROM schedules WHERE id IN (SELECT id FROM s) RETURNING 1)
     SELECT count(*)::int AS n FROM d`,
  // No index: the table holds the keys rotated within the last grace period plus this age (a
  // few rows), and every rotation prunes it too (store/api-keys.ts).
  retiredKeys: `WITH k AS (
       SELECT key FROM api_keys_retired WHERE expires_at < $1
        ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
     ), d AS (DELETE FROM api_keys_retired r USING k WHERE r.key = k.key RETURNING 1)
     SELECT count(*)::int AS n FROM d`,
} as const;

/** A message batch: the chosen messages with their events, delivery job and delivery logs (as store/message-status.ts deletes a message). */
function messagesSql(where: string): string {
  return `WITH m AS (SELECT id FROM messages WHERE ${where} LIMIT $3 FOR UPDATE SKIP LOCKED),
       ids AS (SELECT ARRAY(SELECT id FROM m) AS a),
       e AS (DELETE FROM message_events WHERE message_id = ANY ((SELECT a FROM ids)::text[])),
       j AS (DELETE FROM deliveries WHERE message_id = ANY ((SELECT a FROM ids)::text[])),
       l AS (DELETE FROM message_delivery_logs WHERE message_id = ANY ((SELECT a FROM ids)::text[])),
       d AS (DELETE FROM messages WHERE id = ANY ((SELECT a FROM ids)::text[]) RETURNING id, provider, external_id),
       x AS (${deleteExternalIdsSql('d')})
     SELECT count(*)::int AS n FROM d`;
}

async function count(q: Queryable, sql: string, params: unknown[]): Promise<number> {
  const rows = await q.query<{ n: number }>(sql, params);
  return rows[0]?.n ?? 0;
}

/**
 * Finished runs (completed or cancelled) that finished before `cutoff`, with their events and
 * throttle verdicts. Queued, processing and paused runs are never chosen, however old.
 */
export function pruneFinishedRuns(q: Queryable, cutoff: Date, limit: number): Promise<number> {
  return count(q, RETENTION_SQL.runs, [cutoff, limit]);
}

/**
 * Triggers accepted before `cutoff` that have no run left and no fan-out still expanding, with
 * their finished fan-out rows. (A trigger whose runs live on is passed over by every batch
 * until they go; such triggers are few: runs that outlive the run retention.)
 */
export function pruneOrphanTriggers(q: Queryable, cutoff: Date, limit: number): Promise<number> {
  return count(q, RETENTION_SQL.triggers, [cutoff, limit]);
}

/** Messages of one channel created before `cutoff`, with their children. */
export function pruneChannelMessages(q: Queryable, channelId: string, cutoff: Date, limit: number): Promise<number> {
  return count(q, RETENTION_SQL.channelMessages, [channelId, cutoff, limit]);
}

/** Messages of one channel archived before `cutoff` (an archived message has left the feed). */
export function pruneArchivedMessages(q: Queryable, channelId: string, cutoff: Date, limit: number): Promise<number> {
  return count(q, RETENTION_SQL.archivedMessages, [channelId, cutoff, limit]);
}

/** Every channel, with whether it is an in-app feed (feed messages have their own retention). */
export async function listChannelKinds(q: Queryable): Promise<{ id: string; feed: boolean }[]> {
  return q.query<{ id: string; feed: boolean }>(`SELECT id, type = 'in_app_feed' AS feed FROM channels ORDER BY id`);
}

/** Bulk operations that finished (completed or failed) before `cutoff`. */
export function pruneBulkOperations(q: Queryable, cutoff: Date, limit: number): Promise<number> {
  return count(q, RETENTION_SQL.bulkOperations, [cutoff, limit]);
}

/**
 * Idempotency records whose 24 h ended before `now`. The rows are claimed here and deleted by
 * the trigger path's own sweep (store/idempotency.ts), which deletes a key only if it is still
 * expired: a key re-used meanwhile keeps its new record.
 */
export function pruneIdempotencyKeys(db: Db, now: Date, limit: number): Promise<number> {
  return db.transaction(async (tx) => {
    const rows = await tx.query<{ key: string }>(RETENTION_SQL.idempotencyKeys, [now, limit]);
    await sweepExpiredKeys(tx, rows.map((r) => ({ key: r.key, now })));
    return rows.length;
  });
}

/** Rate-limit windows that started before `cutoff` (a process that stopped leaves its windows). */
export function pruneRateLimitWindows(q: Queryable, cutoff: Date, limit: number): Promise<number> {
  return count(q, RETENTION_SQL.rateLimits, [cutoff, limit]);
}

/**
 * Workflow versions created before `cutoff` that are no workflow's current version and that no
 * trigger uses. A run always has its trigger's version and a trigger outlives its runs, so no
 * run uses such a version either. The versions table is small (one row per deployed change).
 */
export function pruneWorkflowVersions(q: Queryable, cutoff: Date, limit: number): Promise<number> {
  return count(q, RETENTION_SQL.workflowVersions, [cutoff, limit]);
}

/** Where a sweep of closed batches stands: past the batch flushed at `at` with `id`. */
export interface BatchCursor {
  at: string;
  id: string;
}

/**
 * One window of the sweep of closed batches flushed before `cutoff` (from `after`, or from the
 * start): deletes those no message shows and no running member run needs, with their members.
 * `next` is where the following window starts, null once the sweep has reached the end.
 */
export async function pruneClosedBatches(q: Queryable, cutoff: Date, after: BatchCursor | null, limit: number): Promise<{ deleted: number; next: BatchCursor | null }> {
  const [row] = await q.query<{ n: number; walked: number; taken: number; last_at: string | null; last_id: string | null }>(
    RETENTION_SQL.batches,
    [cutoff, after?.at ?? '-infinity', after?.id ?? '00000000-0000-0000-0000-000000000000', limit],
  );
  const atEnd = !row || (row.walked < limit && row.taken === row.walked) || row.last_at === null || row.last_id === null;
  return { deleted: row?.n ?? 0, next: atEnd ? null : { at: row.last_at!, id: row.last_id! } };
}

/** Throttle windows that closed before `cutoff`. */
export function pruneThrottleWindows(q: Queryable, cutoff: Date, limit: number): Promise<number> {
  return count(q, RETENTION_SQL.throttleWindows, [cutoff, limit]);
}

/** Records of cancel requests made before `cutoff`. */
export function pruneCancellations(q: Queryable, cutoff: Date, limit: number): Promise<number> {
  return count(q, RETENTION_SQL.cancellations, [cutoff, limit]);
}

/** Schedules that finished (no next occurrence) before `cutoff`. */
export function pruneFinishedSchedules(q: Queryable, cutoff: Date, limit: number): Promise<number> {
  return count(q, RETENTION_SQL.schedules, [cutoff, limit]);
}

/** Rotated-out API keys whose grace period ended before `cutoff`. */
export function pruneRetiredKeys(q: Queryable, cutoff: Date, limit: number): Promise<number> {
  return count(q, RETENTION_SQL.retiredKeys, [cutoff, limit]);
}
