-- Committed partials and translations of an environment (Knock's management API), as templates
-- render them: each kind's applyCommitted writes here (src/store/partials.ts, translations.ts),
-- and renders read only these tables. Email layouts managed through the API share the
-- email_layouts table with configured ones; `source` tells them apart ('config': replaced at
-- every start from configuration; 'api': owned by the API, never touched by configuration).

CREATE TABLE partials (
  key                  text PRIMARY KEY,
  type                 text NOT NULL,
  name                 text NOT NULL,
  description          text,
  content              text NOT NULL,
  input_schema         jsonb,
  icon_name            text,
  visual_block_enabled boolean,
  sha                  text NOT NULL,
  created_at           timestamptz NOT NULL,
  updated_at           timestamptz NOT NULL
);

-- One file per (locale, namespace); the default namespace is ''.
CREATE TABLE translations (
  locale_code text NOT NULL,
  namespace   text NOT NULL DEFAULT '',
  format      text NOT NULL DEFAULT 'json',
  content     text NOT NULL,
  sha         text NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (locale_code, namespace)
);

ALTER TABLE email_layouts
  ADD COLUMN name         text,
  ADD COLUMN footer_links jsonb,
  ADD COLUMN source       text NOT NULL DEFAULT 'config',
  ADD COLUMN sha          text,
  ADD COLUMN created_at   timestamptz;
