-- Herald core schema: entities, channels, workflows, runs (which are also the timer queue),
-- messages, cancellations and idempotency records. Every timestamp the engine decides on is
-- passed in from the application clock, so tests can move time; defaults are only a fallback.

-- API keys generated on first start when none are configured; shared by every process.
CREATE TABLE api_keys (
  kind        text PRIMARY KEY CHECK (kind IN ('secret', 'public')),
  key         text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Users, objects and tenants in one table: users live in collection '$users', tenants in
-- '$tenants' (Knock models tenants as objects). `properties` holds every field except id.
CREATE TABLE entities (
  collection   text NOT NULL,
  id           text NOT NULL,
  properties   jsonb NOT NULL DEFAULT '{}',
  created_at   timestamptz,                -- the caller-supplied created_at, if any
  inserted_at  timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (collection, id)
);
-- Cursor pagination of lists walks (collection, inserted_at, id).
CREATE INDEX entities_list_idx ON entities (collection, inserted_at, id);

CREATE TABLE channels (
  id          uuid PRIMARY KEY,
  key         text NOT NULL UNIQUE,
  type        text NOT NULL,     -- in_app_feed | email | sms | push | chat | http
  provider    text NOT NULL,
  name        text NOT NULL,
  settings    jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO channels (id, key, type, provider, name)
VALUES (gen_random_uuid(), 'in-app-feed', 'in_app_feed', 'knock_in_app', 'In-app feed');

CREATE TABLE channel_data (
  collection  text NOT NULL,
  id          text NOT NULL,
  channel_id  uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  data        jsonb NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (collection, id, channel_id),
  FOREIGN KEY (collection, id) REFERENCES entities (collection, id) ON DELETE CASCADE
);

CREATE TABLE preference_sets (
  collection   text NOT NULL,
  id           text NOT NULL,
  set_id       text NOT NULL,   -- 'default' or a tenant id
  preferences  jsonb NOT NULL DEFAULT '{}',
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (collection, id, set_id),
  FOREIGN KEY (collection, id) REFERENCES entities (collection, id) ON DELETE CASCADE
);

-- Workflow definitions. Versions are content-addressed so a run stays pinned to the
-- definition that was current when it was triggered.
CREATE TABLE workflow_versions (
  sha           text PRIMARY KEY,
  workflow_key  text NOT NULL,
  definition    jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE workflows (
  key         text PRIMARY KEY,
  sha         text NOT NULL REFERENCES workflow_versions (sha),
  active      boolean NOT NULL DEFAULT true,
  source      text,             -- file path it was loaded from, if any
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per accepted trigger (Knock's workflow_run_id).
CREATE TABLE workflow_triggers (
  id                uuid PRIMARY KEY,
  workflow_key      text NOT NULL,
  workflow_sha      text NOT NULL REFERENCES workflow_versions (sha),
  actor             jsonb,          -- {id, collection} or null
  tenant_id         text,
  data              jsonb NOT NULL DEFAULT '{}',
  cancellation_key  text,
  settings          jsonb NOT NULL DEFAULT '{}',
  source            jsonb NOT NULL DEFAULT '{"type":"api"}',
  inserted_at       timestamptz NOT NULL
);

-- One row per recipient of a trigger. It is also the timer/job queue: a run is due when its
-- status is unfinished and wake_at <= now. A claimed run is 'processing' with wake_at moved to
-- the end of its lease, so a run whose worker died becomes due again by the same index.
CREATE TABLE recipient_runs (
  id                    uuid PRIMARY KEY,
  workflow_run_id       uuid NOT NULL REFERENCES workflow_triggers (id),
  workflow_key          text NOT NULL,
  workflow_sha          text NOT NULL,
  recipient_collection  text NOT NULL,
  recipient_id          text NOT NULL,
  actor                 jsonb,
  tenant_id             text,
  cancellation_key      text,
  data                  jsonb NOT NULL DEFAULT '{}',   -- trigger data with $trigger_data merged
  status                text NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'processing', 'paused', 'completed', 'cancelled')),
  position              int NOT NULL DEFAULT 0,        -- index of the next step to run
  state                 jsonb NOT NULL DEFAULT '{}',   -- e.g. the delay being waited on
  error_count           int NOT NULL DEFAULT 0,
  attempts              int NOT NULL DEFAULT 0,        -- claims of the current step
  wake_at               timestamptz,
  lease_owner           text,
  inserted_at           timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL
);
-- The dequeue query: due unfinished runs, oldest first (partial, so finished runs cost nothing).
CREATE INDEX recipient_runs_due_idx ON recipient_runs (wake_at)
  WHERE status IN ('queued', 'processing', 'paused');
-- Cancellation matches unfinished runs by (workflow, cancellation key).
CREATE INDEX recipient_runs_cancel_idx ON recipient_runs (workflow_key, cancellation_key)
  WHERE cancellation_key IS NOT NULL AND status IN ('queued', 'processing', 'paused');
-- Listing runs newest first, and by recipient.
CREATE INDEX recipient_runs_list_idx ON recipient_runs (inserted_at DESC, id DESC);
CREATE INDEX recipient_runs_recipient_idx ON recipient_runs (recipient_collection, recipient_id, inserted_at DESC);
CREATE INDEX recipient_runs_trigger_idx ON recipient_runs (workflow_run_id);

CREATE TABLE run_events (
  id                uuid PRIMARY KEY,
  recipient_run_id  uuid NOT NULL REFERENCES recipient_runs (id) ON DELETE CASCADE,
  event             text NOT NULL,    -- run_started, step_started, step_completed, step_skipped, step_failed, run_completed, run_cancelled, message_created
  status            text NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'error')),
  step_ref          text,
  step_type         text,
  attempt           int,
  data              jsonb,
  inserted_at       timestamptz NOT NULL,
  seq               bigserial
);
CREATE INDEX run_events_run_idx ON run_events (recipient_run_id, seq);

CREATE TABLE messages (
  id                    text PRIMARY KEY,        -- 27-char KSUID: time-ordered
  channel_id            uuid NOT NULL REFERENCES channels (id),
  recipient_collection  text NOT NULL,
  recipient_id          text NOT NULL,
  workflow_key          text NOT NULL,
  workflow_sha          text,
  categories            jsonb NOT NULL DEFAULT '[]',
  workflow_run_id       uuid,
  recipient_run_id      uuid,
  step_ref              text,
  tenant_id             text,
  actors                jsonb NOT NULL DEFAULT '[]',   -- recipient references
  status                text NOT NULL DEFAULT 'queued',
  data                  jsonb,
  content               jsonb,                         -- rendered content, e.g. {blocks: [...]}
  metadata              jsonb,
  seen_at               timestamptz,
  read_at               timestamptz,
  interacted_at         timestamptz,
  link_clicked_at       timestamptz,
  archived_at           timestamptz,
  inserted_at           timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL
);
-- No duplicate message for one step of one run, whatever retries happen.
CREATE UNIQUE INDEX messages_run_step_idx ON messages (recipient_run_id, step_ref);
-- Feeds and per-recipient lists: newest first within (recipient, channel).
CREATE INDEX messages_feed_idx ON messages (recipient_collection, recipient_id, channel_id, inserted_at DESC, id DESC);
CREATE INDEX messages_list_idx ON messages (inserted_at DESC, id DESC);

CREATE TABLE message_events (
  id           uuid PRIMARY KEY,
  message_id   text NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  type         text NOT NULL,        -- message.created, message.delivered, message.seen, ...
  data         jsonb,
  inserted_at  timestamptz NOT NULL,
  seq          bigserial
);
CREATE INDEX message_events_message_idx ON message_events (message_id, seq);

-- Every cancel request, kept so later fan-out of an earlier trigger can honour it.
CREATE TABLE cancellations (
  id                uuid PRIMARY KEY,
  workflow_key      text NOT NULL,
  cancellation_key  text NOT NULL,
  recipients        jsonb,          -- null = all recipients
  cancelled_runs    int NOT NULL,
  inserted_at       timestamptz NOT NULL
);
CREATE INDEX cancellations_key_idx ON cancellations (workflow_key, cancellation_key);

-- Idempotency-Key on trigger: the original response for 24 hours.
CREATE TABLE idempotency_keys (
  key           text PRIMARY KEY,
  request_hash  text NOT NULL,
  status_code   int NOT NULL,
  response      jsonb NOT NULL,
  request_id    text,
  inserted_at   timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL
);
CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at);
