/**
 * Reading workflows for the management API: the current version of each, with the times
 * Knock shows (`created_at` = its first stored version, `updated_at` = when it last changed),
 * listed by key as Knock lists them.
 */
import type { Queryable } from './db.js';
import type { StoredWorkflow, WorkflowDefinition } from '../domain/workflow.js';

export type CatalogWorkflow = StoredWorkflow;

interface Row {
  key: string;
  sha: string;
  active: boolean;
  definition: WorkflowDefinition;
  created_at: Date | string | null;
  updated_at: Date | string;
}

const SELECT = `SELECT w.key, w.sha, w.active, w.updated_at, v.definition,
  (SELECT min(x.created_at) FROM workflow_versions x WHERE x.workflow_key = w.key) AS created_at
  FROM workflows w JOIN workflow_versions v ON v.sha = w.sha`;

const fromRow = (r: Row): CatalogWorkflow => ({
  key: r.key,
  sha: r.sha,
  active: r.active,
  definition: r.definition,
  createdAt: new Date(r.created_at ?? r.updated_at),
  updatedAt: new Date(r.updated_at),
});

export async function findCatalogWorkflow(db: Queryable, key: string): Promise<CatalogWorkflow | null> {
  const rows = await db.query<Row>(`${SELECT} WHERE w.key = $1`, [key]);
  return rows[0] ? fromRow(rows[0]) : null;
}

/**
 * One page by key: `limit + 1` rows after `after` (ascending) or before `before` (descending,
 * for the caller to flip back), so the caller can tell whether more follow.
 */
export async function listCatalogWorkflows(db: Queryable, page: { after?: string; before?: string; limit: number }): Promise<CatalogWorkflow[]> {
  const rows = page.before !== undefined
    ? await db.query<Row>(`${SELECT} WHERE w.key < $1 ORDER BY w.key DESC LIMIT $2`, [page.before, page.limit + 1])
    : await db.query<Row>(`${SELECT} WHERE ($1::text IS NULL OR w.key > $1) ORDER BY w.key ASC LIMIT $2`, [page.after ?? null, page.limit + 1]);
  return rows.map(fromRow);
}
