import type { Queryable } from './db.js';
import { encodeCursor, keysetPage, readTimeIdCursor } from './cursor.js';
import type { RunRow } from '../domain/run.js';

export interface RunListFilter {
  workflow?: string;
  status?: string[];
  tenant?: string;
  hasErrors?: boolean;
  recipient?: { collection: string; id: string };
  startingAt?: Date;
  endingAt?: Date;
  workflowRunId?: string;
}

export interface RunPage {
  runs: RunRow[];
  after: string | null;
  before: string | null;
}

/** Newest first, keyset-paginated over (inserted_at, id) using recipient_runs_list_idx. */
export async function listRuns(q: Queryable, f: RunListFilter, page: { after?: string; before?: string; pageSize: number }): Promise<RunPage> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => { params.push(value); where.push(sql.replace('?', `$${params.length}`)); };
  if (f.workflow) add('workflow_key = ?', f.workflow);
  if (f.status?.length) add('status = ANY(?::text[])', f.status);
  if (f.tenant) add('tenant_id = ?', f.tenant);
  if (f.hasErrors === true) where.push('error_count > 0');
  if (f.hasErrors === false) where.push('error_count = 0');
  if (f.recipient) { add('recipient_collection = ?', f.recipient.collection); add('recipient_id = ?', f.recipient.id); }
  if (f.startingAt) add('inserted_at >= ?', f.startingAt);
  if (f.endingAt) add('inserted_at <= ?', f.endingAt);
  if (f.workflowRunId) add('workflow_run_id = ?', f.workflowRunId);
  const after = readTimeIdCursor(page.after, 'after');
  const before = readTimeIdCursor(page.before, 'before');
  if (after) { params.push(after[0], after[1]); where.push(`(inserted_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`); }
  if (before) { params.push(before[0], before[1]); where.push(`(inserted_at, id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`); }
  const order = before ? 'ASC' : 'DESC';
  params.push(page.pageSize + 1);
  const rows = await q.query<RunRow>(
    `SELECT * FROM recipient_runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY inserted_at ${order}, id ${order} LIMIT $${params.length}`,
    params,
  );
  const cut = keysetPage(rows, page.pageSize, { after, before }, (r) => encodeCursor([r.inserted_at, r.id]));
  return { runs: cut.items, after: cut.after, before: cut.before };
}

export async function getRun(q: Queryable, id: string): Promise<RunRow | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const rows = await q.query<RunRow>('SELECT * FROM recipient_runs WHERE id = $1', [id]);
  return rows[0] ?? null;
}

export interface RunEventRow {
  id: string;
  event: string;
  status: 'ok' | 'error';
  step_ref: string | null;
  step_type: string | null;
  attempt: number | null;
  data: Record<string, unknown> | null;
  inserted_at: Date;
}

export async function listRunEvents(q: Queryable, runId: string): Promise<RunEventRow[]> {
  return q.query<RunEventRow>(
    // run_event_list unnests the rows that hold several events of one advance (migration 029).
    'SELECT id, event, status, step_ref, step_type, attempt, data, inserted_at FROM run_event_list WHERE recipient_run_id = $1 ORDER BY seq, n',
    [runId],
  );
}
