-- Delivery of messages to providers (email over SMTP first). A channel step creates the message
-- `queued` and, in the same checkpoint statement, one `deliveries` row; a background task claims
-- due rows (FOR UPDATE SKIP LOCKED), moving `next_attempt_at` forward as its lease, calls the
-- provider and deletes the row once the message is `sent` or `undelivered`.
CREATE TABLE deliveries (
  message_id       text PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
  channel_id       uuid NOT NULL REFERENCES channels (id),
  attempts         int NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  lease_owner      text,
  created_at       timestamptz NOT NULL
);
-- The claim: `WHERE next_attempt_at <= now ORDER BY next_attempt_at LIMIT n`.
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at);

-- One row per provider call (Knock's MessageDeliveryLog); secrets are redacted before insert.
CREATE TABLE message_delivery_logs (
  id            uuid PRIMARY KEY,
  message_id    text NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  attempt       int NOT NULL,
  service_name  text NOT NULL,
  request       jsonb NOT NULL,
  response      jsonb NOT NULL,
  inserted_at   timestamptz NOT NULL,
  seq           bigserial
);
CREATE INDEX message_delivery_logs_message_idx ON message_delivery_logs (message_id, seq);
