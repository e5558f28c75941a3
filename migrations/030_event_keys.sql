-- Run events and message events are keyed by their parent and sequence (issue 12).
--
-- Both tables had a uuid primary key that no statement ever looks up (events are read, paged
-- and deleted by their run or message: run_events_run_idx, message_events_message_idx) beside
-- that (parent, seq) index. Each event row therefore paid two index insertions where one serves
-- every reader: in a 2,000-subscriber fan-out page, 6,000 of the ~46,000 WAL records written were
-- entries of those unread uuid indexes. The (parent, seq) index becomes the primary key (seq is
-- a bigserial, so the pair is unique), under the name readers and plans already know; `id` stays
-- (the API returns it) without an index of its own.
ALTER TABLE run_events DROP CONSTRAINT run_events_pkey;
DROP INDEX run_events_run_idx;
ALTER TABLE run_events ADD CONSTRAINT run_events_run_idx PRIMARY KEY (recipient_run_id, seq);

ALTER TABLE message_events DROP CONSTRAINT message_events_pkey;
DROP INDEX message_events_message_idx;
ALTER TABLE message_events ADD CONSTRAINT message_events_message_idx PRIMARY KEY (message_id, seq);
