/**
 * The workflows table as the management API and the workflows folder see it: activation,
 * the file-loaded workflows (to deactivate those whose file disappeared), and the keys a
 * management listing shows (committed content, uncommitted changes, and workflows stored
 * before content was managed — loaded from the folder or written directly).
 */
import type { Queryable } from './db.js';
import type { StoredWorkflow, WorkflowDefinition } from '../domain/workflow.js';

/** `workflows.source` of a workflow committed or promoted through the management API. */
export const API_SOURCE = 'api';

/** Flips the per-environment active flag of the stored workflow; false when there is none. */
export async function setWorkflowActive(db: Queryable, key: string, active: boolean, now: Date): Promise<boolean> {
  const rows = await db.query<{ key: string }>(
    'UPDATE workflows SET active = $2, updated_at = CASE WHEN active = $2 THEN updated_at ELSE $3 END WHERE key = $1 RETURNING key',
    [key, active, now],
  );
  return rows.length > 0;
}

/** The active flag of a stored workflow, or null when there is none. */
export async function workflowActive(db: Queryable, key: string): Promise<boolean | null> {
  const rows = await db.query<{ active: boolean }>('SELECT active FROM workflows WHERE key = $1', [key]);
  return rows[0]?.active ?? null;
}

/** Active workflows loaded from a file (source = its path), by key. */
export async function activeFileWorkflows(db: Queryable): Promise<{ key: string; source: string }[]> {
  return db.query<{ key: string; source: string }>(
    'SELECT key, source FROM workflows WHERE active AND source IS NOT NULL AND source <> $1 ORDER BY key',
    [API_SOURCE],
  );
}

export async function deactivateWorkflow(db: Queryable, key: string, now: Date): Promise<void> {
  await db.query('UPDATE workflows SET active = false, updated_at = $2 WHERE key = $1 AND active', [key, now]);
}

interface LegacyRow { key: string; sha: string; active: boolean; definition: WorkflowDefinition; created_at: Date | string | null; updated_at: Date | string }

/**
 * Stored workflows not managed through the API (source is a file path or null), by key: what a
 * management listing shows for keys without committed content.
 */
export async function unmanagedWorkflows(db: Queryable, keys: readonly string[]): Promise<StoredWorkflow[]> {
  if (keys.length === 0) return [];
  const rows = await db.query<LegacyRow>(
    `SELECT w.key, w.sha, w.active, w.updated_at, v.definition,
       (SELECT min(x.created_at) FROM workflow_versions x WHERE x.workflow_key = w.key) AS created_at
     FROM workflows w JOIN workflow_versions v ON v.sha = w.sha
     WHERE w.key = ANY($1) AND (w.source IS NULL OR w.source <> $2)`,
    [[...keys], API_SOURCE],
  );
  return rows.map((r) => ({
    key: r.key, sha: r.sha, active: r.active, definition: r.definition,
    createdAt: new Date(r.created_at ?? r.updated_at), updatedAt: new Date(r.updated_at),
  }));
}

/**
 * One page of workflow keys a management listing shows in `environment`: committed content,
 * unmanaged stored workflows, and (with `drafts`) uncommitted changes; `limit + 1` keys after
 * `after` (ascending) or before `before` (descending, for the caller to flip back).
 */
export async function mgmtWorkflowKeys(db: Queryable, environment: string, drafts: boolean, page: { after?: string; before?: string; limit: number }): Promise<string[]> {
  const union = `SELECT key FROM content_committed WHERE environment = $1 AND type = 'workflow'
    UNION SELECT key FROM workflows WHERE source IS NULL OR source <> '${API_SOURCE}'
    UNION SELECT key FROM content_drafts WHERE $2 AND environment = $1 AND type = 'workflow'`;
  const rows = page.before !== undefined
    ? await db.query<{ key: string }>(`SELECT key FROM (${union}) k WHERE key < $3 ORDER BY key DESC LIMIT $4`, [environment, drafts, page.before, page.limit + 1])
    : await db.query<{ key: string }>(`SELECT key FROM (${union}) k WHERE ($3::text IS NULL OR key > $3) ORDER BY key ASC LIMIT $4`, [environment, drafts, page.after ?? null, page.limit + 1]);
  return rows.map((r) => r.key);
}
