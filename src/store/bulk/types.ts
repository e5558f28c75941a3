import type { Queryable } from '../db.js';
import type { BulkErrorItem } from '../bulk-operations.js';

/** What every item of one operation shares. */
export interface BulkItemContext<P> {
  /** The operation-wide arguments stored with it (e.g. the object collection). */
  params: P;
  /** The application clock's time for this chunk. */
  now: Date;
}

/**
 * Applies one kind of bulk operation, one item at a time. `apply` runs inside the chunk's
 * transaction under a savepoint: throwing records the item in `error_items` (with `describe`'s
 * {id, collection?} and the error's message) and undoes only that item's writes.
 * Items were validated by the route's schema before they were stored, but handlers still get
 * them back from JSON, so they are typed as what the route accepted.
 */
export interface BulkHandler<I = any, P = any> {
  apply(tx: Queryable, item: I, ctx: BulkItemContext<P>): Promise<void>;
  describe(item: I, params: P): Omit<BulkErrorItem, 'message'>;
}

/** Operation name (BulkOperation.name) → its handler. */
export type BulkHandlers = Readonly<Record<string, BulkHandler>>;
