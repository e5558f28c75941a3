-- Retention (src/store/retention.ts, src/queue/retention-task.ts): each batch deletes the oldest
-- rows past a cutoff, walking one of these indexes in cutoff order and stopping after a batch,
-- so a batch never scans a table however large it has grown.

-- Finished runs by finishing time (partial: live runs, which are never pruned, cost nothing).
CREATE INDEX recipient_runs_finished_idx ON recipient_runs (updated_at)
  WHERE status IN ('completed', 'cancelled');
-- Triggers by age (pruned once no run is left), and by version (a version no trigger uses may go).
CREATE INDEX workflow_triggers_inserted_idx ON workflow_triggers (inserted_at);
CREATE INDEX workflow_triggers_sha_idx ON workflow_triggers (workflow_sha);
-- A pruned trigger's fan-out rows.
CREATE INDEX fanouts_trigger_idx ON fanouts (workflow_run_id);
-- Messages by channel and age (feed and other channels have different retentions), and archived
-- messages by archiving time.
CREATE INDEX messages_channel_age_idx ON messages (channel_id, inserted_at);
CREATE INDEX messages_archived_idx ON messages (channel_id, archived_at) WHERE archived_at IS NOT NULL;
-- Finished bulk operations by finishing time.
CREATE INDEX bulk_operations_finished_idx ON bulk_operations (updated_at)
  WHERE status IN ('completed', 'failed');
