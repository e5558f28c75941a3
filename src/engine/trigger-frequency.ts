import type { RunRow } from '../domain/run.js';
import type { WorkflowDefinition } from '../domain/workflow.js';
import type { EngineStore } from './ports.js';

/**
 * Workflow `trigger_frequency` (knock-api.md §5.1): with `once_per_recipient` (or
 * `..._per_tenant`) only the first run of a recipient (in a tenant) goes through the workflow;
 * later runs halt when they start. The first run is decided in the database (a marker row per
 * workflow, recipient and tenant key), so concurrent triggers and several workers agree; the run
 * that owns the marker may start again after a crash without halting itself. Runs stopped by the
 * trigger conditions never claim it: they did not run through the workflow.
 * Returns the halt reason, or null when the run may go on.
 */
export async function triggerFrequencyHalt(store: EngineStore, run: RunRow, def: WorkflowDefinition, now: Date): Promise<string | null> {
  const mode = def.trigger_frequency ?? 'every_trigger';
  if (mode !== 'once_per_recipient' && mode !== 'once_per_recipient_per_tenant') return null;
  const holder = await store.claimTriggerFrequency({
    workflowKey: run.workflow_key,
    recipient: { collection: run.recipient_collection, id: run.recipient_id },
    tenantKey: mode === 'once_per_recipient_per_tenant' ? run.tenant_id ?? '' : '',
    runId: run.id,
    now,
  });
  return holder === run.id ? null : 'trigger_frequency: already triggered for this recipient';
}
