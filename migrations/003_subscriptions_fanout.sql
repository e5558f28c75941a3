-- Object subscriptions and the checkpointed fan-out of object recipients to their subscribers.

-- A recipient (user or object) subscribed to an object. Deleting either side removes it.
CREATE TABLE subscriptions (
  object_collection     text NOT NULL,
  object_id             text NOT NULL,
  recipient_collection  text NOT NULL,
  recipient_id          text NOT NULL,
  properties            jsonb,
  inserted_at           timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL,
  -- The primary key is also the fan-out's walk order: (object, subscriber) keyset pages.
  PRIMARY KEY (object_collection, object_id, recipient_collection, recipient_id),
  FOREIGN KEY (object_collection, object_id) REFERENCES entities (collection, id) ON DELETE CASCADE,
  FOREIGN KEY (recipient_collection, recipient_id) REFERENCES entities (collection, id) ON DELETE CASCADE
);
-- Listing an object's subscribers newest first (mode=object).
CREATE INDEX subscriptions_object_list_idx ON subscriptions (object_collection, object_id, inserted_at DESC, recipient_collection, recipient_id);
-- What a recipient subscribes to (users.listSubscriptions, mode=recipient), and the FK cascade.
CREATE INDEX subscriptions_recipient_idx ON subscriptions (recipient_collection, recipient_id, inserted_at DESC);

-- One row per object whose subscribers a trigger still has to reach. A page of subscribers
-- becomes recipient runs in the same statement that moves the cursor, so a crash mid-fan-out
-- redoes at most one page and the unique run index below drops what was already inserted.
CREATE TABLE fanouts (
  id                    uuid PRIMARY KEY,
  workflow_run_id       uuid NOT NULL REFERENCES workflow_triggers (id),
  workflow_key          text NOT NULL,
  cancellation_key      text,
  object_collection     text NOT NULL,
  object_id             text NOT NULL,
  depth                 int NOT NULL,      -- 1: subscribers of a trigger recipient; 2: theirs (the last level)
  subscription_path     jsonb,             -- for depth 2: the object that led here
  cursor_collection     text,              -- last subscriber expanded (keyset position)
  cursor_id             text,
  -- Recipients a cancel named while this fan-out was still expanding: their runs start cancelled.
  cancelled_recipients  jsonb NOT NULL DEFAULT '[]',
  status                text NOT NULL CHECK (status IN ('pending', 'done', 'cancelled')),
  expanded              int NOT NULL DEFAULT 0,
  lease_until           timestamptz,
  inserted_at           timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL
);
-- The fan-out worker's claim: pending rows, oldest first.
CREATE INDEX fanouts_pending_idx ON fanouts (inserted_at) WHERE status = 'pending';
-- A cancel locks the pending fan-outs of its (workflow, key) before cancelling runs.
CREATE INDEX fanouts_cancel_idx ON fanouts (workflow_key, cancellation_key) WHERE status = 'pending' AND cancellation_key IS NOT NULL;

-- Where a run came from (Knock's trigger_source), copied from its trigger so run lists need no
-- join: null = the API; schedules, workflow steps and audiences set it.
ALTER TABLE recipient_runs ADD COLUMN source jsonb;

-- A recipient gets one run per trigger however many subscriptions reach it (and the fan-out's
-- ON CONFLICT DO NOTHING relies on it). It also serves lookups by workflow_run_id.
CREATE UNIQUE INDEX recipient_runs_once_idx ON recipient_runs (workflow_run_id, recipient_collection, recipient_id);
DROP INDEX recipient_runs_trigger_idx;
