-- Fixed-window request counters shared by every API process (src/store/rate-limits.ts).
-- A process reserves a slice of a window's quota at a time, so the row is written once per
-- slice, not once per request. UNLOGGED: counters are worthless after a crash, so they skip
-- the WAL; a crash empties the table, which at worst forgives one window.
CREATE UNLOGGED TABLE rate_limits (
  bucket text NOT NULL,
  window_start timestamptz NOT NULL,
  count int NOT NULL,
  PRIMARY KEY (bucket, window_start)
);
-- Old windows are deleted by age.
CREATE INDEX rate_limits_window_idx ON rate_limits (window_start);
