-- Throttle steps: one window per (workflow, step, recipient, throttle key), opened by the first
-- execution; `hits` records each run's verdict so a replayed step gets the same answer.
CREATE TABLE throttle_windows (
  scope_key   text PRIMARY KEY,
  opened_at   timestamptz NOT NULL,
  closes_at   timestamptz NOT NULL,
  count       int NOT NULL
);
CREATE TABLE throttle_hits (
  recipient_run_id  uuid NOT NULL,
  step_ref          text NOT NULL,
  allowed           boolean NOT NULL,
  inserted_at       timestamptz NOT NULL,
  PRIMARY KEY (recipient_run_id, step_ref)
);
