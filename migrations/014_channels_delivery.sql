-- Every provider channel type (email, sms, push, chat, http), channel groups, provider failover
-- with a circuit breaker shared by every process, and inbound provider status webhooks.

-- Fallback providers of a channel, tried in order after `provider`: [{provider, settings}].
ALTER TABLE channels ADD COLUMN fallbacks jsonb NOT NULL DEFAULT '[]';

-- A channel group step creates one message per channel of the group, so a message is unique per
-- (run, step, channel); a plain channel step still creates at most one.
DROP INDEX messages_run_step_idx;
CREATE UNIQUE INDEX messages_run_step_idx ON messages (recipient_run_id, step_ref, channel_id);

-- Which provider sent the message (after failover) and its id there; inbound status webhooks
-- (bounces) find the message by (provider, external_id).
ALTER TABLE messages ADD COLUMN provider text;
ALTER TABLE messages ADD COLUMN external_id text;
CREATE INDEX messages_external_id_idx ON messages (provider, external_id) WHERE external_id IS NOT NULL;

-- Channel groups from configuration: an ordered list of channel keys and how many to use.
CREATE TABLE channel_groups (
  key          text PRIMARY KEY,
  channel_type text,
  -- 'all': a message on every channel the recipient can receive; 'first': only the first such.
  mode         text NOT NULL DEFAULT 'all',
  channel_keys jsonb NOT NULL,
  updated_at   timestamptz NOT NULL
);

-- Circuit breaker per (channel, provider position): consecutive retryable failures open it
-- until `open_until`; while open the provider is passed over for the next one. Rows are read for
-- the channels of a claimed batch in one query and written with one upsert per outcome.
CREATE TABLE provider_circuits (
  channel_id            uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  provider_index        int NOT NULL,
  provider              text NOT NULL,
  consecutive_failures  int NOT NULL DEFAULT 0,
  open_until            timestamptz,
  updated_at            timestamptz NOT NULL,
  PRIMARY KEY (channel_id, provider_index)
);

-- Email layouts from configuration (Knock's layouts): `{{ content }}` marks where the rendered
-- body goes; a step picks one with template.settings.layout_key.
CREATE TABLE email_layouts (
  key          text PRIMARY KEY,
  html_layout  text,
  text_layout  text,
  updated_at   timestamptz NOT NULL
);
