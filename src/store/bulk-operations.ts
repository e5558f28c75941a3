import type { Queryable } from './db.js';

export interface BulkOperationRow {
  id: string;
  name: string;
  status: 'queued' | 'processing' | 'completed' | 'failed';
  total_rows: number;
  success_count: number;
  error_count: number;
  inserted_at: Date;
  completed_at: Date | null;
}

/** Records a bulk operation that already ran to completion (in the caller's transaction). */
export async function recordCompletedBulkOperation(q: Queryable, op: { id: string; name: string; matched: number; at: Date }): Promise<BulkOperationRow> {
  const rows = await q.query<BulkOperationRow>(
    `INSERT INTO bulk_operations (id, name, status, total_rows, success_count, error_count, inserted_at, completed_at)
     VALUES ($1, $2, 'completed', $3, $3, 0, $4, $4) RETURNING *`,
    [op.id, op.name, op.matched, op.at],
  );
  return rows[0];
}

export async function getBulkOperation(q: Queryable, id: string): Promise<BulkOperationRow | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const rows = await q.query<BulkOperationRow>('SELECT * FROM bulk_operations WHERE id = $1', [id]);
  return rows[0] ?? null;
}
