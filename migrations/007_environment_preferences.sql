-- The environment's default preference sets (knock-api.md §5.11): the lowest layer of preference
-- resolution, under the recipient's sets and the tenant's defaults. Knock has one per
-- environment ('default'); the set id is the key so that stays a single-row lookup.
CREATE TABLE environment_preference_sets (
  set_id       text PRIMARY KEY,
  preferences  jsonb NOT NULL DEFAULT '{}',
  updated_at   timestamptz NOT NULL
);
