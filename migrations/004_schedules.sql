-- Schedules (knock-api.md §2.6, §3.8, §5.15): one row per (workflow, recipient) timer. The row is
-- its own durable timer: it is due when next_occurrence_at has passed, and a finished schedule
-- (one-off fired, ending_at reached) keeps its row with next_occurrence_at NULL.
CREATE TABLE schedules (
  id                    uuid PRIMARY KEY,
  workflow_key          text NOT NULL,
  recipient_collection  text NOT NULL,
  recipient_id          text NOT NULL,
  actor_collection      text,
  actor_id              text,
  tenant_id             text,
  data                  jsonb,
  repeats               jsonb NOT NULL DEFAULT '[]',   -- normalised ScheduleRepeatRule[] ([] = one-off)
  scheduled_at          timestamptz,                   -- one-off instant, or when a recurrence starts
  ending_at             timestamptz,                   -- nothing fires after it
  next_occurrence_at    timestamptz,                   -- NULL = finished
  last_occurrence_at    timestamptz,
  -- A firing worker's claim: it holds the row until lease_until, so a worker that died while
  -- firing is replaced once the lease ends (its trigger, if committed, is replayed by its
  -- idempotency key rather than repeated).
  lease_owner           text,
  lease_until           timestamptz,
  inserted_at           timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL,
  -- Deleting a recipient deletes its schedules; deleting an actor leaves the schedule actorless.
  FOREIGN KEY (recipient_collection, recipient_id) REFERENCES entities (collection, id) ON DELETE CASCADE,
  FOREIGN KEY (actor_collection, actor_id) REFERENCES entities (collection, id) ON DELETE SET NULL
);
-- The firing worker's claim: unfinished schedules by due time (partial: finished ones cost nothing).
CREATE INDEX schedules_due_idx ON schedules (next_occurrence_at) WHERE next_occurrence_at IS NOT NULL;
-- GET /v1/schedules?workflow=... newest first.
CREATE INDEX schedules_workflow_idx ON schedules (workflow_key, inserted_at DESC, id DESC);
-- users/objects listSchedules newest first, the recipients[] filter, and the recipient FK cascade.
CREATE INDEX schedules_recipient_idx ON schedules (recipient_collection, recipient_id, inserted_at DESC, id DESC);
-- The actor FK's ON DELETE SET NULL looks schedules up by actor.
CREATE INDEX schedules_actor_idx ON schedules (actor_collection, actor_id) WHERE actor_id IS NOT NULL;
