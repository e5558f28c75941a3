-- Foreign keys that protect nothing on the hot path (issue 12).
--
-- Each of these child rows is written in the same statement as its parent (the trigger with its
-- runs and fan-out rows; the checkpoint with a run's events, its messages, their events and
-- delivery jobs) or only for a parent that the statement has just returned, so the check can
-- never fail. It still cost a lookup per row, and its plan is cached for the connection's life:
-- planned while `messages` was empty it scanned the table sequentially for every event, which was
-- 79 % of a worker's database time on a server without autovacuum.
--
-- Deleting a message now deletes its events, delivery job and delivery logs explicitly
-- (store/message-status.ts); recipient runs and triggers are never deleted by Herald today, and
-- retention (when it comes) deletes children first.
ALTER TABLE message_events        DROP CONSTRAINT IF EXISTS message_events_message_id_fkey;
ALTER TABLE deliveries            DROP CONSTRAINT IF EXISTS deliveries_message_id_fkey;
ALTER TABLE message_delivery_logs DROP CONSTRAINT IF EXISTS message_delivery_logs_message_id_fkey;
ALTER TABLE run_events            DROP CONSTRAINT IF EXISTS run_events_recipient_run_id_fkey;
ALTER TABLE recipient_runs        DROP CONSTRAINT IF EXISTS recipient_runs_workflow_run_id_fkey;
ALTER TABLE fanouts               DROP CONSTRAINT IF EXISTS fanouts_workflow_run_id_fkey;
ALTER TABLE workflow_triggers     DROP CONSTRAINT IF EXISTS workflow_triggers_workflow_sha_fkey;
