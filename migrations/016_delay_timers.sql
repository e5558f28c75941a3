-- Delay timers fire set-based (store/timers.ts): one statement turns every delay that is due into
-- a queued run and records its step_completed event with its lateness. Runs paused on a delay get
-- an index of their own, and the claim's index leaves them out: a claim never walks the pending
-- delays, and finding the next delay never walks the queued backlog (due timers do not wait
-- behind new work). Both predicates are repeated verbatim by the queries that use them.
CREATE INDEX recipient_runs_delay_due_idx ON recipient_runs (wake_at)
  WHERE status = 'paused' AND state ? 'waiting';
DROP INDEX recipient_runs_due_idx;
CREATE INDEX recipient_runs_due_idx ON recipient_runs (wake_at)
  WHERE status IN ('queued', 'processing') OR (status = 'paused' AND NOT state ? 'waiting');
