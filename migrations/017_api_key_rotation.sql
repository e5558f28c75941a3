-- Keys replaced by `herald keys rotate` keep authenticating until `expires_at` (the grace period),
-- so clients can move to the new key without an outage. `herald keys revoke` deletes a row (its
-- grace ends at once). The current pair stays in api_keys, one row per kind, as before.
CREATE TABLE api_keys_retired (
  key         text PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('secret', 'public')),
  retired_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL
);
