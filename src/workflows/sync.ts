import type { Db } from '../store/db.js';
import { upsertWorkflow } from '../store/workflows.js';
import { loadWorkflowsFromDirectory } from './load-directory.js';

export interface WorkflowSyncReport {
  loaded: string[];
  errors: { path: string; field: string; message: string }[];
}

/**
 * Loads every workflow in a knock-cli directory into the database at start-up. A malformed
 * workflow is reported and skipped; the others still load. Several processes may do this at
 * once: versions are content-addressed, so they converge on the same rows.
 */
export async function syncWorkflowsFromDirectory(db: Db, dir: string, now: Date): Promise<WorkflowSyncReport> {
  const { workflows, errors } = await loadWorkflowsFromDirectory(dir);
  const loaded: string[] = [];
  for (const wf of workflows) {
    await upsertWorkflow(db, wf, `${dir}/${wf.key}/workflow.json`, now);
    loaded.push(wf.key);
  }
  return { loaded, errors };
}
