-- Channel groups written through the management API (Knock mgmt: upsertChannelGroup,
-- deleteChannelGroup) beside configured ones, as email layouts are: `source` 'config' rows are
-- replaced and removed at every start from configuration (HERALD_CHANNEL_GROUPS); 'api' rows are
-- the API's, never touched by configuration, and the API never changes a 'config' row.
ALTER TABLE channel_groups ADD COLUMN source text NOT NULL DEFAULT 'config';
ALTER TABLE channel_groups ADD COLUMN name text;
ALTER TABLE channel_groups ADD COLUMN operator text NOT NULL DEFAULT 'any';
ALTER TABLE channel_groups ADD COLUMN created_at timestamptz;
