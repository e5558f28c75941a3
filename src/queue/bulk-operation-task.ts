import { randomUUID } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import type { Db } from '../store/db.js';
import { recordBulkChunkFailure } from '../store/bulk-operations.js';
import { bulkHandlers } from '../store/bulk/index.js';
import { processNextBulkChunk } from '../store/bulk/process.js';
import type { BulkHandlers } from '../store/bulk/types.js';
import type { BackgroundTask } from './background-worker.js';

/** Items per transaction: a 1,000-item operation is ten commits, each short enough to hold its row lock. */
const CHUNK_SIZE = 100;
/** How long another worker stays away from an operation between this worker's chunks. */
const LEASE_MS = 30_000;
/** Chunks failing outside any item (not an item's error) before the operation is given up. */
const MAX_FAILURES = 5;

export interface BulkOperationTaskOptions {
  db: Db;
  clock: Clock;
  /** Lease owner; unique per process (default a random id). */
  workerId?: string;
  handlers?: BulkHandlers;
  chunkSize?: number;
  leaseMs?: number;
}

/**
 * Runs queued bulk operations: each tick claims one operation (FOR UPDATE SKIP LOCKED, then a
 * lease) and commits one chunk of its items with the progress counters, so a status poll sees
 * queued → processing → completed|failed and a crash costs at most the uncommitted chunk.
 */
export function createBulkOperationTask(opts: BulkOperationTaskOptions): BackgroundTask {
  const owner = `bulk:${opts.workerId ?? randomUUID()}`;
  const handlers = opts.handlers ?? bulkHandlers;
  return {
    name: 'bulk_operations',
    async tick() {
      const now = opts.clock.now();
      const claim = { id: null as string | null };
      try {
        const result = await opts.db.transaction((tx) => processNextBulkChunk(tx, handlers, {
          owner,
          now,
          leaseUntil: new Date(now.getTime() + (opts.leaseMs ?? LEASE_MS)),
          chunkSize: opts.chunkSize ?? CHUNK_SIZE,
          onClaim: (id) => { claim.id = id; },
        }));
        if (result === null) return 0;
        // An operation touched counts as work even with no items, so the loop checks again.
        return Math.max(1, result.processed);
      } catch (err) {
        // The chunk rolled back whole (claim included); count it so a poisoned operation ends.
        if (claim.id !== null) await recordBulkChunkFailure(opts.db, claim.id, now, MAX_FAILURES).catch(() => {});
        throw err;
      }
    },
  };
}
