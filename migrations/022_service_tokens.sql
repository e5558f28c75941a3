-- Service tokens authenticate the management API (/mgmt, Knock's mgmt API: knock-cli and
-- @knocklabs/mgmt), never the public API. Only a SHA-256 of each token is stored: the token is
-- printed once when it is generated (first start, or `herald keys rotate service`), and a
-- lost one is replaced, not recovered. The rotation model is the keys' (017): the current token
-- has no expiry; a rotated-out one keeps working until `expires_at` (its grace period), and
-- revoking ends that grace at once. One current token per name.
CREATE TABLE service_tokens (
  token_hash  text PRIMARY KEY,          -- hex SHA-256 of the token
  name        text NOT NULL,             -- shown by whoami (`service_token_name`)
  hint        text NOT NULL,             -- the token's last characters, to tell tokens apart in `herald keys show`
  created_at  timestamptz NOT NULL,
  expires_at  timestamptz                -- null = the current token of its name
);
CREATE UNIQUE INDEX service_tokens_current ON service_tokens (name) WHERE expires_at IS NULL;
