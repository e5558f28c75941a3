-- Workflow trigger_frequency (once_per_recipient, once_per_recipient_per_tenant): one marker per
-- (workflow, recipient, tenant key), claimed by the first run that starts; the primary key is
-- what makes concurrent first runs agree on a single owner. `tenant_key` is '' for
-- once_per_recipient and for runs without a tenant.
CREATE TABLE trigger_frequency_marks (
  workflow_key          text NOT NULL,
  recipient_collection  text NOT NULL,
  recipient_id          text NOT NULL,
  tenant_key            text NOT NULL,
  recipient_run_id      uuid NOT NULL,
  inserted_at           timestamptz NOT NULL,
  PRIMARY KEY (workflow_key, recipient_collection, recipient_id, tenant_key)
);
