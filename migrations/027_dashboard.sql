-- The dashboard (issue 14): indexes for what it reads on every poll or filter, so none of it
-- scans runs, run events or triggers whole (src/store/dashboard-*.ts).
--
-- No new index on recipient_runs for counting unfinished runs: every status change of a run is a
-- non-HOT update, so each index there costs a write on each of a run's ~4 writes (migration 021).
-- The overview counts them over the workers' own partial indexes (recipient_runs_due_idx and
-- recipient_runs_delay_due_idx, migration 016), which hold exactly the unfinished runs.

-- Failed steps of the last hour (the overview): error events only, a small part of run_events.
CREATE INDEX run_events_errors_idx ON run_events (inserted_at) WHERE status = 'error';

-- Runs by cancellation key with or without a workflow (the runs page's filter, and every cancel):
-- the cancel index's columns swapped, so the key alone is a prefix of it. Still one index, and
-- still only runs triggered with a key have an entry.
DROP INDEX IF EXISTS recipient_runs_cancel_idx;
CREATE INDEX recipient_runs_cancel_idx ON recipient_runs (cancellation_key, workflow_key)
  WHERE cancellation_key IS NOT NULL;

-- Each workflow's last trigger (the workflows page): one index probe per workflow.
CREATE INDEX workflow_triggers_workflow_idx ON workflow_triggers (workflow_key, inserted_at);
