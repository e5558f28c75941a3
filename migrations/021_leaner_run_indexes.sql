-- Fewer index writes per run. Every change of a run's status is a non-HOT update (status is in
-- the partial indexes' predicates), so each index on recipient_runs gets a new entry on each of
-- the ~4 writes of a run (trigger, claim, checkpoint, and the delay firing or a pause).
--
-- recipient_runs_trigger_idx (workflow_run_id) repeats the leading column of the unique
-- recipient_runs_once_idx (workflow_run_id, recipient_collection, recipient_id), which serves the
-- same lookups (runs of a trigger, retention's "is any run left for this trigger").
DROP INDEX IF EXISTS recipient_runs_trigger_idx;

-- Cancels look runs up by (workflow_key, cancellation_key = $2): a key is never NULL there, so
-- runs triggered without a cancellation key (most of them) need no entry.
DROP INDEX IF EXISTS recipient_runs_cancel_idx;
CREATE INDEX recipient_runs_cancel_idx ON recipient_runs (workflow_key, cancellation_key)
  WHERE cancellation_key IS NOT NULL;
