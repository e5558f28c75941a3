-- Content managed through Knock's management API (workflows, email layouts, partials,
-- translations): uncommitted changes, committed bodies, and commits (src/content/kinds.ts
-- describes drafts -> commit -> promote). Every environment's store has these tables; the
-- `environment` column keeps environments apart while several slugs answer one store.
-- What runs reads the kinds' own tables (workflows, ...), written by each kind's applyCommitted.

-- One uncommitted change per (type, key), in the environment edits happen in (development).
CREATE TABLE content_drafts (
  environment text NOT NULL,
  type        text NOT NULL,
  key         text NOT NULL,
  sha         text NOT NULL,
  body        jsonb NOT NULL,
  author      text,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (environment, type, key)
);

-- The committed version of each (type, key) in an environment. `source` = 'api' (committed or
-- promoted through the management API: the API owns the key from then on) or 'file' (loaded
-- from the workflows folder). `active` is per environment (PUT .../activate), not committed.
CREATE TABLE content_committed (
  environment text NOT NULL,
  type        text NOT NULL,
  key         text NOT NULL,
  sha         text NOT NULL,
  body        jsonb NOT NULL,
  source      text NOT NULL,
  active      boolean NOT NULL DEFAULT true,
  commit_id   uuid,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (environment, type, key)
);

-- Knock's commits: one per resource change. A promoted commit is a new row in the target
-- environment naming its source in `promoted_from` (which commits an environment has received),
-- and the source row gets `promoted_at` (Knock's `promoted` filter).
CREATE TABLE content_commits (
  id            uuid PRIMARY KEY,
  environment   text NOT NULL,
  type          text NOT NULL,
  key           text NOT NULL,
  sha           text NOT NULL,
  body          jsonb NOT NULL,
  message       text NOT NULL DEFAULT '',
  author        text,
  promoted_from uuid,
  promoted_at   timestamptz,              -- when it was promoted to the next environment (null = not yet)
  created_at    timestamptz NOT NULL
);
CREATE INDEX content_commits_by_environment ON content_commits (environment, created_at DESC, id DESC);
CREATE UNIQUE INDEX content_commits_received ON content_commits (environment, promoted_from) WHERE promoted_from IS NOT NULL;
CREATE INDEX content_commits_by_resource ON content_commits (environment, type, key, created_at DESC);
