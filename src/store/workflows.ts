import { createHash } from 'node:crypto';
import type { Queryable } from './db.js';
import type { WorkflowDefinition } from '../domain/workflow.js';

export interface StoredWorkflow {
  key: string;
  sha: string;
  active: boolean;
  definition: WorkflowDefinition;
}

/** Key-sorted JSON, so the same definition always hashes to the same version. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function workflowSha(definition: WorkflowDefinition): string {
  return createHash('sha256').update(canonical(definition)).digest('hex');
}

/** Stores the definition as a content-addressed version and points the workflow at it. */
export async function upsertWorkflow(db: Queryable, definition: WorkflowDefinition, source: string | null, now: Date): Promise<StoredWorkflow> {
  const sha = workflowSha(definition);
  const active = definition.active !== false;
  await db.query(
    `INSERT INTO workflow_versions (sha, workflow_key, definition, created_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (sha) DO NOTHING`,
    [sha, definition.key, JSON.stringify(definition), now],
  );
  await db.query(
    `INSERT INTO workflows (key, sha, active, source, updated_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (key) DO UPDATE SET sha = EXCLUDED.sha, active = EXCLUDED.active, source = EXCLUDED.source, updated_at = EXCLUDED.updated_at`,
    [definition.key, sha, active, source, now],
  );
  return { key: definition.key, sha, active, definition };
}

export async function getWorkflow(db: Queryable, key: string): Promise<StoredWorkflow | null> {
  const rows = await db.query<StoredWorkflow>(
    `SELECT w.key, w.sha, w.active, v.definition FROM workflows w JOIN workflow_versions v ON v.sha = w.sha WHERE w.key = $1`,
    [key],
  );
  return rows[0] ?? null;
}

/** The current version and state of a workflow, without its (larger) definition. */
export async function getWorkflowHead(db: Queryable, key: string): Promise<{ sha: string; active: boolean } | null> {
  const rows = await db.query<{ sha: string; active: boolean }>('SELECT sha, active FROM workflows WHERE key = $1', [key]);
  return rows[0] ?? null;
}

/** The pinned definition a run was triggered with. */
export async function getWorkflowVersion(db: Queryable, sha: string): Promise<WorkflowDefinition | null> {
  const rows = await db.query<{ definition: WorkflowDefinition }>('SELECT definition FROM workflow_versions WHERE sha = $1', [sha]);
  return rows[0]?.definition ?? null;
}
