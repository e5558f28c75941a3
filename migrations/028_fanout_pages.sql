-- Fan-out pages are planned outside any transaction (engine/fanout-page.ts). A page is reserved
-- first: a short transaction moves the fan-out's cursor past it and records it here, leased to
-- the process that plans it. Any number of processes reserve and plan pages of the same fan-out
-- at once; the page's commit deletes its row (only while its lease holds) in the statement that
-- creates its runs. A page whose process died is taken over when its lease ends; a cancel ends
-- the leases of its fan-outs' pages (lease_owner NULL, lease_until -infinity), so a page
-- planned before the cancel never commits and is planned again with the cancel applied.
CREATE TABLE fanout_pages (
  id                uuid PRIMARY KEY,
  fanout_id         uuid NOT NULL,
  workflow_run_id   uuid NOT NULL,
  workflow_key      text NOT NULL,
  cancellation_key  text,
  -- The page holds the subscribers after (after_collection, after_id) (NULL: from the first)
  -- up to and including (last_collection, last_id), in subscriptions_pkey order.
  after_collection  text,
  after_id          text,
  last_collection   text NOT NULL,
  last_id           text NOT NULL,
  lease_owner       text,
  lease_until       timestamptz NOT NULL,
  inserted_at       timestamptz NOT NULL
);
-- Taking over pages whose lease ended (or was ended by a cancel).
CREATE INDEX fanout_pages_lease_idx ON fanout_pages (lease_until);
-- A cancel ends the leases of its (workflow, key)'s pages.
CREATE INDEX fanout_pages_cancel_idx ON fanout_pages (workflow_key, cancellation_key) WHERE cancellation_key IS NOT NULL;
