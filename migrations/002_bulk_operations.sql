-- Bulk operations Herald has run, so a BulkOperation's progress_path (GET /v1/bulk_operations/{id})
-- answers. Herald finishes a bulk operation before replying, so rows are written completed.
CREATE TABLE bulk_operations (
  id            uuid PRIMARY KEY,
  name          text NOT NULL,
  status        text NOT NULL CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
  total_rows    int NOT NULL,
  success_count int NOT NULL,
  error_count   int NOT NULL DEFAULT 0,
  inserted_at   timestamptz NOT NULL,
  completed_at  timestamptz
);
