import type { Queryable } from '../db.js';
import {
  claimBulkOperation, failBulkOperation, readBulkItems, recordBulkChunk, withSavepoint,
  type BulkErrorItem, type BulkOperationRow,
} from '../bulk-operations.js';
import type { BulkHandlers } from './types.js';

export interface ChunkOptions {
  /** Lease owner: this worker's id. */
  owner: string;
  now: Date;
  /** Until when the claim keeps other workers away (renewed by every chunk). */
  leaseUntil: Date;
  chunkSize: number;
  /** Told the claimed operation's id before any item runs (so a failed chunk can be counted). */
  onClaim?: (id: string) => void;
}

export interface ChunkResult {
  operation: BulkOperationRow | null;
  /** Items applied or failed in this chunk. */
  processed: number;
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Claims one operation and applies its next chunk of items, all in the caller's transaction:
 * the items' writes and the moved counters commit together, so after a crash the next claim
 * starts right after the last committed chunk and no item is applied twice. An item that throws
 * is rolled back to its savepoint and reported in `error_items`; the others go on.
 * Returns null when no operation is claimable.
 */
export async function processNextBulkChunk(tx: Queryable, handlers: BulkHandlers, opts: ChunkOptions): Promise<ChunkResult | null> {
  const op = await claimBulkOperation(tx, opts.owner, opts.now, opts.leaseUntil);
  if (!op) return null;
  opts.onClaim?.(op.id);
  const handler = Object.hasOwn(handlers, op.name) ? handlers[op.name] : undefined;
  if (!handler) {
    // Written by a newer Herald, or a handler that was removed: nothing here can apply it.
    await failBulkOperation(tx, op.id, opts.now);
    return { operation: null, processed: 0 };
  }
  const items = await readBulkItems(tx, op.id, op.processed_rows, opts.chunkSize);
  if (items.length === 0 && op.processed_rows < op.total_rows) {
    // Its items are gone (unreadable payload): it could never finish, so it ends now.
    await failBulkOperation(tx, op.id, opts.now);
    return { operation: null, processed: 0 };
  }
  let succeeded = 0;
  const errors: BulkErrorItem[] = [];
  const ctx = { params: op.params, now: opts.now };
  const describe = (item: unknown) => {
    try { return handler.describe(item, op.params); } catch { return { id: String((item as { id?: unknown })?.id ?? item) }; }
  };
  for (const item of items) {
    try {
      await withSavepoint(tx, () => handler.apply(tx, item, ctx));
      succeeded++;
    } catch (err) {
      errors.push({ ...describe(item), message: messageOf(err) });
    }
  }
  const operation = await recordBulkChunk(tx, op.id, { processed: items.length, succeeded, errors, now: opts.now });
  return { operation, processed: items.length };
}
