-- Bulk operations become durable asynchronous jobs (knock-api.md §5.15): a POST stores the
-- operation with its items as 'queued' and answers at once; a background task claims it
-- (FOR UPDATE SKIP LOCKED plus a lease, so one process works an operation at a time) and
-- applies the items in chunks, each chunk committed together with the progress counters below,
-- so a crash resumes after the last committed chunk and never applies an item twice.
-- Rows written before this migration (operations that ran before answering) are backfilled so
-- they read exactly as before.
ALTER TABLE bulk_operations
  ADD COLUMN payload          jsonb,                        -- {"params": {...}, "items": [...]}; cleared when finished
  ADD COLUMN processed_rows   int NOT NULL DEFAULT 0,       -- items applied or failed so far (the resume point)
  ADD COLUMN error_items      jsonb NOT NULL DEFAULT '[]',  -- [{id, collection?, message}]
  ADD COLUMN started_at       timestamptz,
  ADD COLUMN failed_at        timestamptz,
  ADD COLUMN updated_at       timestamptz,
  ADD COLUMN claimed_by       text,                         -- the worker holding the lease
  ADD COLUMN claim_expires_at timestamptz,                  -- after this another worker may take over
  ADD COLUMN failures         int NOT NULL DEFAULT 0;       -- consecutive chunks that failed outside any item

UPDATE bulk_operations
   SET processed_rows = total_rows, started_at = inserted_at, updated_at = COALESCE(completed_at, inserted_at);
ALTER TABLE bulk_operations ALTER COLUMN updated_at SET NOT NULL;

-- The claim: unfinished operations, oldest first (partial, so finished ones cost nothing).
CREATE INDEX bulk_operations_pending_idx ON bulk_operations (inserted_at) WHERE status IN ('queued', 'processing');
