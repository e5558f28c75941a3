import type { BulkOperationRow } from '../../store/bulk-operations.js';

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/**
 * Knock's BulkOperation. `progress_path` is an absolute URL (the spec's format is `uri`), so
 * the caller passes the API's base URL. `error_items[].message` (why the item failed) is a
 * Herald extension.
 */
export function serializeBulkOperation(op: BulkOperationRow, baseUrl: string) {
  return {
    __typename: 'BulkOperation',
    id: op.id,
    name: op.name,
    status: op.status,
    estimated_total_rows: op.total_rows,
    processed_rows: op.processed_rows,
    success_count: op.success_count,
    error_count: op.error_count,
    error_items: op.error_items,
    progress_path: `${baseUrl}/v1/bulk_operations/${op.id}`,
    inserted_at: iso(op.inserted_at),
    updated_at: iso(op.updated_at),
    started_at: iso(op.started_at),
    completed_at: iso(op.completed_at),
    failed_at: iso(op.failed_at),
  };
}
