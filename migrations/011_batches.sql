-- Batch steps (design.md §3 "Batches are exact"): one open batch per (workflow, step, recipient,
-- tenant, batch key), explicit membership rows, and a flush that happens once.
CREATE TABLE batches (
  id                    uuid PRIMARY KEY,
  workflow_key          text NOT NULL,
  step_ref              text NOT NULL,
  recipient_collection  text NOT NULL,
  recipient_id          text NOT NULL,
  tenant_key            text NOT NULL DEFAULT '',   -- '' = no tenant
  batch_key             text NOT NULL DEFAULT '',   -- '' = no batch_key
  status                text NOT NULL CHECK (status IN ('open', 'closing', 'closed')),  -- closing: full, waiting for its flush
  execution_mode        text NOT NULL,              -- accumulate | flush_leading
  window_type           text NOT NULL,              -- fixed | sliding
  window_ms             bigint,                     -- sliding: each activity moves the close to now + window
  opened_at             timestamptz NOT NULL,
  closes_at             timestamptz NOT NULL,
  extension_limit_at    timestamptz,                -- sliding: never close later than this
  max_items             int,
  items                 int NOT NULL DEFAULT 0,
  continued_run_id      uuid,                       -- the member run that carries the batch on
  flushed_at            timestamptz
);
-- At most one OPEN batch per key: concurrent first triggers meet on this index (ON CONFLICT).
CREATE UNIQUE INDEX batches_open_key_idx ON batches (workflow_key, step_ref, recipient_collection, recipient_id, tenant_key, batch_key)
  WHERE status = 'open';
-- The flush task's claim: open batches whose window has closed, earliest first.
CREATE INDEX batches_due_idx ON batches (closes_at) WHERE status IN ('open', 'closing');

CREATE TABLE batch_members (
  batch_id          uuid NOT NULL REFERENCES batches (id),
  recipient_run_id  uuid NOT NULL,
  step_ref          text NOT NULL,
  seq               bigserial,
  actor             jsonb,
  data              jsonb NOT NULL DEFAULT '{}',
  leading_item      boolean NOT NULL DEFAULT false, -- flush_leading: the item that went on at once
  included          boolean,                        -- set at flush: false for runs cancelled by then
  inserted_at       timestamptz NOT NULL,
  PRIMARY KEY (batch_id, seq),
  -- A run joins a step's batch once, however often the step is replayed.
  UNIQUE (recipient_run_id, step_ref)
);

-- Messages produced after a batch point at it: activities, totals and listActivities.
ALTER TABLE messages ADD COLUMN batch_id uuid;
ALTER TABLE messages ADD COLUMN total_activities int;
ALTER TABLE messages ADD COLUMN total_actors int;
