/*
 * SQL for bulk operations (knock-api.md §2.2–2.6, BulkOperation §3.9, §5.15). An operation is
 * a row holding its items; the bulk task (src/queue/bulk-operation-task.ts, via
 * src/store/bulk/process.ts) claims it and commits one chunk of items at a time together with
 * the counters here. Plans checked with EXPLAIN on PostgreSQL 15:
 * - claim: Limit -> LockRows -> Index Scan using bulk_operations_pending_idx (only unfinished
 *   operations are in that partial index, so finished ones cost nothing);
 * - chunk items: Function Scan on jsonb_array_elements of one row fetched by its primary key;
 * - get / record progress: primary-key lookups.
 */
import type { Queryable } from './db.js';

export type BulkOperationStatus = 'queued' | 'processing' | 'completed' | 'failed';

/** One item the operation could not apply, as Knock reports it (plus why, a Herald extension). */
export interface BulkErrorItem {
  id: string;
  collection?: string;
  message?: string;
}

export interface BulkOperationRow {
  id: string;
  name: string;
  status: BulkOperationStatus;
  total_rows: number;
  processed_rows: number;
  success_count: number;
  error_count: number;
  error_items: BulkErrorItem[];
  inserted_at: Date;
  updated_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  failed_at: Date | null;
}

/** What the bulk task needs of a claimed operation. */
export interface ClaimedBulkOperation {
  id: string;
  name: string;
  total_rows: number;
  processed_rows: number;
  params: Record<string, unknown>;
}

const COLUMNS = `id, name, status, total_rows, processed_rows, success_count, error_count, error_items,
                 inserted_at, updated_at, started_at, completed_at, failed_at`;

/** Records a bulk operation that already ran to completion (in the caller's transaction). */
export async function recordCompletedBulkOperation(q: Queryable, op: { id: string; name: string; matched: number; at: Date }): Promise<BulkOperationRow> {
  const rows = await q.query<BulkOperationRow>(
    `INSERT INTO bulk_operations (id, name, status, total_rows, processed_rows, success_count, error_count, inserted_at, updated_at, started_at, completed_at)
     VALUES ($1, $2, 'completed', $3, $3, $3, 0, $4, $4, $4, $4) RETURNING ${COLUMNS}`,
    [op.id, op.name, op.matched, op.at],
  );
  return rows[0];
}

/**
 * Stores a new operation with its items, `queued`. `params` are the operation-wide arguments
 * (an object collection, the preference set to write...) handed to every item's handler.
 */
export async function enqueueBulkOperation(
  q: Queryable,
  op: { id: string; name: string; items: unknown[]; params?: Record<string, unknown>; now: Date },
): Promise<BulkOperationRow> {
  const rows = await q.query<BulkOperationRow>(
    `INSERT INTO bulk_operations (id, name, status, total_rows, success_count, error_count, payload, inserted_at, updated_at)
     VALUES ($1, $2, 'queued', $3, 0, 0, $4::jsonb, $5, $5) RETURNING ${COLUMNS}`,
    [op.id, op.name, op.items.length, JSON.stringify({ params: op.params ?? {}, items: op.items }), op.now],
  );
  return rows[0];
}

export async function getBulkOperation(q: Queryable, id: string): Promise<BulkOperationRow | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const rows = await q.query<BulkOperationRow>(`SELECT ${COLUMNS} FROM bulk_operations WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

/**
 * Claims the oldest unfinished operation this worker may work on: queued ones, ones whose
 * lease ran out (their worker died or stalled), and this worker's own. The row stays locked
 * until the caller's transaction ends (SKIP LOCKED: others pass over it), and the lease keeps
 * other workers away between chunks. Must run inside the transaction that applies the chunk.
 */
export async function claimBulkOperation(tx: Queryable, owner: string, now: Date, leaseUntil: Date): Promise<ClaimedBulkOperation | null> {
  const rows = await tx.query<ClaimedBulkOperation>(
    `UPDATE bulk_operations SET
       status = 'processing', claimed_by = $1, claim_expires_at = $3,
       started_at = COALESCE(started_at, $2), updated_at = $2
     WHERE id = (
       SELECT id FROM bulk_operations
        WHERE status IN ('queued', 'processing')
          AND (claim_expires_at IS NULL OR claim_expires_at <= $2 OR claimed_by = $1)
        ORDER BY inserted_at
        LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING id, name, total_rows, processed_rows, COALESCE(payload->'params', '{}'::jsonb) AS params`,
    [owner, now, leaseUntil],
  );
  return rows[0] ?? null;
}

/** The next `limit` items after the first `offset` (the ones already processed), in order. */
export async function readBulkItems(tx: Queryable, id: string, offset: number, limit: number): Promise<unknown[]> {
  const rows = await tx.query<{ item: unknown }>(
    `SELECT e.item FROM bulk_operations b, jsonb_array_elements(b.payload->'items') WITH ORDINALITY AS e(item, n)
      WHERE b.id = $1 AND e.n > $2
      ORDER BY e.n LIMIT $3`,
    [id, offset, limit],
  );
  return rows.map((r) => r.item);
}

/**
 * Commits a chunk's outcome with its items (same transaction): the counters move, and when
 * every item is processed the operation ends `completed`, or `failed` when no item succeeded.
 * The items are dropped then: nothing reads them any more.
 */
export async function recordBulkChunk(
  tx: Queryable,
  id: string,
  chunk: { processed: number; succeeded: number; errors: BulkErrorItem[]; now: Date },
): Promise<BulkOperationRow> {
  const rows = await tx.query<BulkOperationRow>(
    `WITH next AS (
       SELECT processed_rows + $2 >= total_rows AS done,
              success_count + $3 = 0 AND error_count + $4 > 0 AS none_succeeded
         FROM bulk_operations WHERE id = $1
     )
     UPDATE bulk_operations b SET
       processed_rows = b.processed_rows + $2,
       success_count = b.success_count + $3,
       error_count = b.error_count + $4,
       error_items = b.error_items || $5::jsonb,
       failures = 0,
       status = CASE WHEN NOT next.done THEN 'processing' WHEN next.none_succeeded THEN 'failed' ELSE 'completed' END,
       completed_at = CASE WHEN next.done AND NOT next.none_succeeded THEN $6::timestamptz END,
       failed_at = CASE WHEN next.done AND next.none_succeeded THEN $6::timestamptz END,
       payload = CASE WHEN next.done THEN NULL ELSE b.payload END,
       claim_expires_at = CASE WHEN next.done THEN NULL ELSE b.claim_expires_at END,
       updated_at = $6
     FROM next WHERE b.id = $1
     RETURNING ${COLUMNS.split(',').map((c) => `b.${c.trim()}`).join(', ')}`,
    [id, chunk.processed, chunk.succeeded, chunk.errors.length, JSON.stringify(chunk.errors), chunk.now],
  );
  return rows[0];
}

/** Ends an operation `failed` at once (no handler for its name, unreadable items...). */
export async function failBulkOperation(q: Queryable, id: string, now: Date): Promise<void> {
  await q.query(
    `UPDATE bulk_operations SET status = 'failed', failed_at = $2, updated_at = $2, payload = NULL, claim_expires_at = NULL
      WHERE id = $1 AND status IN ('queued', 'processing')`,
    [id, now],
  );
}

/**
 * Counts a chunk that failed outside any item (its transaction rolled back); after
 * `maxFailures` in a row the operation ends `failed` rather than being retried for ever.
 * Returns true when it did.
 */
export async function recordBulkChunkFailure(q: Queryable, id: string, now: Date, maxFailures: number): Promise<boolean> {
  const rows = await q.query<{ status: string }>(
    `UPDATE bulk_operations SET
       failures = failures + 1,
       status = CASE WHEN failures + 1 >= $3 THEN 'failed' ELSE status END,
       failed_at = CASE WHEN failures + 1 >= $3 THEN $2::timestamptz END,
       payload = CASE WHEN failures + 1 >= $3 THEN NULL ELSE payload END,
       updated_at = $2
     WHERE id = $1 AND status IN ('queued', 'processing')
     RETURNING status`,
    [id, now, maxFailures],
  );
  return rows[0]?.status === 'failed';
}

/** Runs `fn` under a savepoint: if it throws, only its own writes are undone and the transaction goes on. */
export async function withSavepoint<T>(tx: Queryable, fn: () => Promise<T>): Promise<T> {
  await tx.query('SAVEPOINT bulk_item');
  try {
    const result = await fn();
    await tx.query('RELEASE SAVEPOINT bulk_item');
    return result;
  } catch (err) {
    await tx.query('ROLLBACK TO SAVEPOINT bulk_item');
    throw err;
  }
}
