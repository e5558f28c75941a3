-- Retention of batches, throttle windows, cancel records and finished schedules
-- (src/store/retention.ts): as in 018, each batch walks one of these indexes in age order and
-- stops after its rows. Retired API keys need none (a few rows).

-- Closed batches by flush time (the sweep's (flushed_at, id) cursor); open and closing batches,
-- which are never pruned, cost nothing here.
CREATE INDEX batches_closed_idx ON batches (flushed_at, id) WHERE status = 'closed';
-- Whether a message still shows a batch's activities (partial: most messages have no batch).
CREATE INDEX messages_batch_idx ON messages (batch_id) WHERE batch_id IS NOT NULL;
-- Throttle windows by closing time. A hit within the window leaves closes_at as it is, so the
-- upsert stays a HOT update; only opening a new window moves the row in this index.
CREATE INDEX throttle_windows_closes_idx ON throttle_windows (closes_at);
-- Cancel records by age.
CREATE INDEX cancellations_inserted_idx ON cancellations (inserted_at);
-- Finished schedules by the time they finished (their last firing or the update that ended them).
CREATE INDEX schedules_finished_idx ON schedules (GREATEST(last_occurrence_at, updated_at))
  WHERE next_occurrence_at IS NULL;
