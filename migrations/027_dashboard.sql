-- The dashboard (issue 14): indexes for what it reads on every poll or filter, so none of it
-- scans runs, run events or triggers whole (src/store/dashboard-*.ts).

-- Unfinished runs by status (the overview, every 5 s): an index-only count over unfinished runs,
-- which stay few while finished ones pile up.
CREATE INDEX recipient_runs_unfinished_idx ON recipient_runs (status)
  WHERE status IN ('queued', 'processing', 'paused');

-- Failed steps of the last hour (the overview): error events only, a small part of run_events.
CREATE INDEX run_events_errors_idx ON run_events (inserted_at) WHERE status = 'error';

-- Runs by cancellation key without a workflow (the runs page's filter), newest first.
CREATE INDEX recipient_runs_cancellation_key_idx ON recipient_runs (cancellation_key, inserted_at DESC, id DESC)
  WHERE cancellation_key IS NOT NULL;

-- Each workflow's last trigger (the workflows page): one index probe per workflow.
CREATE INDEX workflow_triggers_workflow_idx ON workflow_triggers (workflow_key, inserted_at);
