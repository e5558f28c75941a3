/**
 * Workflows for the dashboard: the list with each one's last trigger, and one workflow with its
 * steps nested as drawn (branches with their own steps) and its version history. Activating and
 * triggering go through the existing APIs (management and public).
 */
import { Type } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import type { Step, WorkflowDefinition } from '../../domain/workflow.js';
import { lastTriggeredAt, workflowVersions } from '../../store/dashboard-runs.js';
import { findCatalogWorkflow, listCatalogWorkflows } from '../../store/workflow-catalog.js';
import { Id } from '../schemas/common.js';
import type { ApiDeps, App } from '../types.js';
import { dashboardContext } from './context.js';
import { redactSecrets } from './redact.js';
import { WorkflowList } from './schemas.js';

/** Workflows an environment holds are few (a page of the management API's size would do); this bounds the list. */
const MAX_WORKFLOWS = 1000;

interface DrawnStep {
  ref: string;
  type: string;
  [field: string]: unknown;
}

/** A step as drawn: its own fields (settings redacted: fetch headers may hold credentials) and its branches' steps, recursively. */
function drawStep(step: Step): DrawnStep {
  const s = step as Step & { branches?: unknown[]; cohort_branches?: unknown[]; settings?: unknown; template?: unknown; channel_key?: unknown; channel_group_key?: unknown };
  const branchesOf = (list: unknown[] | undefined) => (list ?? []).map((b) => {
    const branch = b as { name?: unknown; terminates?: unknown; conditions?: unknown; steps?: unknown; percentage?: unknown };
    return {
      ...(typeof branch.name === 'string' ? { name: branch.name } : {}),
      ...(typeof branch.terminates === 'boolean' ? { terminates: branch.terminates } : {}),
      ...(branch.conditions !== undefined && branch.conditions !== null ? { conditions: branch.conditions } : {}),
      ...(typeof branch.percentage === 'number' ? { percentage: branch.percentage } : {}),
      steps: Array.isArray(branch.steps) ? (branch.steps as Step[]).map(drawStep) : [],
    };
  });
  const branches = [...branchesOf(s.branches), ...branchesOf(s.cohort_branches)];
  return {
    ref: s.ref,
    type: s.type,
    ...(typeof s.name === 'string' ? { name: s.name } : {}),
    ...(typeof s.channel_key === 'string' ? { channel_key: s.channel_key } : {}),
    ...(typeof s.channel_group_key === 'string' ? { channel_group_key: s.channel_group_key } : {}),
    ...(s.conditions ? { conditions: s.conditions } : {}),
    ...(s.settings ? { settings: redactSecrets(s.settings) } : {}),
    ...(s.template ? { template: s.template } : {}),
    ...(branches.length > 0 ? { branches } : {}),
  };
}

function summary(w: { key: string; active: boolean; definition: WorkflowDefinition }, last: Date | undefined) {
  const def = w.definition;
  return {
    key: w.key,
    name: def.name ?? w.key,
    active: w.active,
    categories: def.categories ?? [],
    steps: (def.steps ?? []).map((s) => ({ ref: s.ref, type: s.type, ...(typeof (s as { channel_key?: unknown }).channel_key === 'string' ? { channel_key: (s as { channel_key: string }).channel_key } : {}) })),
    ...(def.trigger_data_json_schema ? { trigger_data_schema: def.trigger_data_json_schema } : {}),
    last_triggered_at: last ? new Date(last).toISOString() : null,
  };
}

export function registerWorkflowRoutes(app: App, deps: ApiDeps): void {
  const contextOf = dashboardContext(deps);
  const config = { auth: 'secret' as const, dashboard: true };

  app.get('/dashboard/api/workflows', {
    config,
    schema: { tags: ['dashboard'], response: { 200: WorkflowList } },
  }, async (request) => {
    const { db } = await contextOf(request);
    const workflows = await listCatalogWorkflows(db, { limit: MAX_WORKFLOWS });
    const last = await lastTriggeredAt(db, workflows.map((w) => w.key));
    return { items: workflows.slice(0, MAX_WORKFLOWS).map((w) => summary(w, last.get(w.key))) };
  });

  // No response schema: steps nest to any depth (WorkflowDetail in schemas.ts documents the shape).
  app.get('/dashboard/api/workflows/:key', {
    config,
    schema: { tags: ['dashboard'], params: Type.Object({ key: Id }) },
  }, async (request) => {
    const { db } = await contextOf(request);
    const w = await findCatalogWorkflow(db, request.params.key);
    if (!w) throw errors.workflowMissing(request.params.key);
    const [last, versions] = await Promise.all([lastTriggeredAt(db, [w.key]), workflowVersions(db, w.key)]);
    return {
      ...summary(w, last.get(w.key)),
      ...(w.definition.description ? { description: w.definition.description } : {}),
      steps: (w.definition.steps ?? []).map(drawStep),
      sha: w.sha,
      versions: versions.map((v) => ({ sha: v.sha, created_at: new Date(v.created_at).toISOString() })),
    };
  });
}
