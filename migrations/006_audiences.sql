-- Audiences: named lists of users, each membership optionally scoped to a tenant
-- (knock-api.md §2.6, AudienceMember §3.9). Knock creates audiences in its dashboard; Herald
-- has none, so adding members creates the audience (unless the caller sends create_audience=false).
CREATE TABLE audiences (
  key          text PRIMARY KEY,
  inserted_at  timestamptz NOT NULL
);

CREATE TABLE audience_members (
  audience_key     text NOT NULL REFERENCES audiences (key) ON DELETE CASCADE,
  -- Always '$users'; present so deleting (or merging away) a user removes its memberships.
  user_collection  text NOT NULL DEFAULT '$users' CHECK (user_collection = '$users'),
  user_id          text NOT NULL,
  -- '' = no tenant. Not NULL so the key, ON CONFLICT and keyset cursors need no NULL handling.
  tenant           text NOT NULL DEFAULT '',
  added_at         timestamptz NOT NULL,
  PRIMARY KEY (audience_key, user_id, tenant),
  FOREIGN KEY (user_collection, user_id) REFERENCES entities (collection, id) ON DELETE CASCADE
);
-- Listing an audience's members oldest first: keyset over (added_at, user_id, tenant).
CREATE INDEX audience_members_list_idx ON audience_members (audience_key, added_at, user_id, tenant);
-- A user's memberships (users.merge, and the FK cascade when a user is deleted).
CREATE INDEX audience_members_user_idx ON audience_members (user_collection, user_id);
