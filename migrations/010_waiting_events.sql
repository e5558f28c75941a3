-- wait_for_event: a paused run's wait is part of its state (`state.event_wait`), written by the
-- checkpoint in the same statement as the pause, so there is no second table to keep in step
-- (or to clean up on cancel). This partial index holds only runs paused on a wait; it serves
-- an event for one recipient (equality on the first three columns) and, through row-wise
-- keyset pagination, an event for every recipient (src/store/run-waits.ts).
CREATE INDEX recipient_runs_event_wait_idx
  ON recipient_runs ((state->'event_wait'->>'event'), recipient_collection, recipient_id, id)
  WHERE status = 'paused' AND state ? 'event_wait';
