-- Secrets generated once per Herald install and shared by every process, like the API keys of
-- 001: the first process to need one inserts it (ON CONFLICT DO NOTHING), every process then
-- reads the same value. `link_tracking` signs the tokens of email link-click redirects and open
-- pixels (src/tracking/token.ts): HMAC-SHA256 over the message id, the environment and the link,
-- so a redirect only ever leads to a URL that was in that message. Never returned by the API,
-- never logged.
CREATE TABLE install_secrets (
  name        text PRIMARY KEY,
  secret      text NOT NULL,             -- base64url of 32 random bytes
  created_at  timestamptz NOT NULL
);
