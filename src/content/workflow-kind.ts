/**
 * Workflows as content: the body is Knock's workflow object (what knock-cli pushes and the
 * workflows folder holds once its `@` files are read), validated by the one workflow
 * validation (domain/workflow.ts); committing it points the engine's workflows table at the
 * new version, so the next trigger in any process runs it (the trigger's write re-checks the
 * version it cached).
 */
import { validateWorkflowDefinition, type WorkflowDefinition } from '../domain/workflow.js';
import { upsertWorkflow } from '../store/workflows.js';
import { API_SOURCE, workflowActive } from '../store/workflow-content.js';
import { workflowBody } from '../workflows/body.js';
import { registerContentKind, type ContentFieldError, type ContentKind } from './kinds.js';

export function validateWorkflowBody(key: string, raw: unknown, prefix = 'workflow'): { ok: true; value: WorkflowDefinition } | { ok: false; errors: ContentFieldError[] } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, errors: [{ field: prefix, message: 'must be a JSON object', type: 'invalid' }] };
  }
  const body = workflowBody(key, raw as Record<string, unknown>);
  const result = validateWorkflowDefinition(body);
  if (!result.ok) {
    return { ok: false, errors: result.errors.map((e) => ({ field: [prefix, e.field].filter(Boolean).join('.'), message: e.message, type: 'invalid' })) };
  }
  return { ok: true, value: result.workflow };
}

export const workflowKind: ContentKind = {
  type: 'workflow',
  validate: (key, body) => validateWorkflowBody(key, body),
  async applyCommitted(db, key, value, now) {
    // Activation is per environment and not part of the content: a new workflow starts active.
    const active = (await workflowActive(db, key)) ?? true;
    await upsertWorkflow(db, { ...(value as WorkflowDefinition), key, active }, API_SOURCE, now);
  },
};

registerContentKind(workflowKind);
