/**
 * A stored workflow in the shape Knock's management API answers with (the spec's `Workflow`
 * and `WorkflowStep` schemas). Herald keeps definitions in that very format already (the
 * knock-cli `workflow.json` layout), so this fills in what Knock always sends: read-only fields
 * (environment, sha, valid, timestamps), the common step fields as null when unset, each
 * channel step's `channel_type`, and branch steps' nested steps the same way.
 */
import type { Step, StoredWorkflow } from '../domain/workflow.js';

/** What the mapping reads: a workflow's current stored version (store/workflow-catalog.ts). */
export type MgmtWorkflowSource = StoredWorkflow;

export type MgmtStep = Record<string, unknown> & { type: string; ref: string };

export interface MgmtWorkflow {
  key: string;
  name: string;
  description: string | null;
  active: boolean;
  /** Every stored workflow passed the one validation (domain/workflow.ts) before it was stored. */
  valid: boolean;
  environment: string;
  categories: string[];
  conditions: unknown;
  settings: Record<string, unknown>;
  steps: MgmtStep[];
  trigger_data_json_schema: Record<string, unknown> | null;
  trigger_frequency: string;
  tags: string[];
  sha: string;
  created_at: string;
  updated_at: string;
}

/** Channel key -> channel type, for steps that name only their channel. */
export type ChannelTypes = ReadonlyMap<string, string>;

export function toMgmtWorkflow(w: MgmtWorkflowSource, environment: string, channelTypes: ChannelTypes): MgmtWorkflow {
  const d = w.definition;
  return {
    key: w.key,
    name: d.name,
    description: d.description ?? null,
    active: w.active,
    valid: true,
    environment,
    categories: d.categories ?? [],
    conditions: d.conditions ?? null,
    settings: d.settings ?? {},
    steps: d.steps.map((s) => toMgmtStep(s, channelTypes)),
    trigger_data_json_schema: d.trigger_data_json_schema ?? null,
    trigger_frequency: d.trigger_frequency ?? 'every_trigger',
    tags: [],
    sha: w.sha,
    created_at: w.createdAt.toISOString(),
    updated_at: w.updatedAt.toISOString(),
  };
}

interface Branch { name?: string | null; conditions?: unknown; terminates?: boolean | null; steps?: Step[]; [field: string]: unknown }

function toMgmtStep(step: Step, channelTypes: ChannelTypes): MgmtStep {
  const common = { name: step.name ?? null, description: step.description ?? null, conditions: step.conditions ?? null };
  switch (step.type) {
    case 'channel': {
      const channelKey = typeof step.channel_key === 'string' ? step.channel_key : null;
      return {
        ...step,
        ...common,
        channel_key: channelKey,
        channel_group_key: step.channel_group_key ?? null,
        channel_type: step.channel_type ?? (channelKey ? channelTypes.get(channelKey) ?? null : null),
        channel_overrides: step.channel_overrides ?? null,
        send_windows: step.send_windows ?? null,
        template: step.template ?? {},
      };
    }
    case 'branch':
      return { ...step, name: common.name, description: common.description, branches: branches(step.branches, channelTypes) };
    case 'random_cohort':
      return { ...step, ...common, cohort_branches: branches(step.cohort_branches, channelTypes) };
    // delay, batch, http_fetch, throttle, wait_for_event, trigger_workflow, update_*, ai_agent:
    // Knock's shape is the common fields plus `settings`, which Herald stores as Knock sends it.
    default:
      return { ...step, ...common, settings: step.settings ?? {} };
  }
}

function branches(value: unknown, channelTypes: ChannelTypes): Branch[] {
  if (!Array.isArray(value)) return [];
  return (value as Branch[]).map((b) => ({
    ...b,
    name: b.name ?? null,
    conditions: b.conditions ?? null,
    terminates: b.terminates ?? false,
    steps: (b.steps ?? []).map((s) => toMgmtStep(s, channelTypes)),
  }));
}

/** Workflow fields Knock answers with but never takes in a request (knock-cli keeps them under `__readonly`). */
const READONLY_FIELDS = ['environment', 'key', 'active', 'valid', 'sha', 'created_at', 'updated_at'];

/**
 * Template fields knock-cli may keep in their own files (`"html_body@": "email_1/html_body.html"`):
 * `default` = extracted on a first pull. Only fields a template has are extracted, so one set
 * serves every channel type.
 */
const TEMPLATE_EXTRACTABLE = {
  subject: { default: false, file_ext: 'txt' },
  html_body: { default: true, file_ext: 'html' },
  text_body: { default: true, file_ext: 'txt' },
  json_body: { default: true, file_ext: 'json' },
  markdown_body: { default: true, file_ext: 'md' },
} as const;
const TEMPLATE_SETTINGS_EXTRACTABLE = { pre_content: { default: true, file_ext: 'txt' } } as const;

function annotateStep(step: MgmtStep): MgmtStep {
  const out: MgmtStep = { ...step };
  if (step.type === 'channel' && step.template && typeof step.template === 'object') {
    const template = { ...(step.template as Record<string, unknown>) };
    if (template.settings && typeof template.settings === 'object') {
      template.settings = { ...(template.settings as Record<string, unknown>), __annotation: { extractable_fields: TEMPLATE_SETTINGS_EXTRACTABLE, readonly_fields: [] } };
    }
    template.__annotation = { extractable_fields: TEMPLATE_EXTRACTABLE, readonly_fields: [] };
    out.template = template;
  }
  for (const field of ['branches', 'cohort_branches']) {
    if (Array.isArray(step[field])) {
      out[field] = (step[field] as Branch[]).map((b) => ({ ...b, steps: (b.steps ?? []).map((s) => annotateStep(s as unknown as MgmtStep)) }));
    }
  }
  return out;
}

/**
 * Knock's `annotate=true` (used by knock-cli): `__annotation` on the workflow (its read-only
 * fields) and on each channel step's template (the fields that may live in their own files).
 */
export function annotateWorkflow(w: MgmtWorkflow): MgmtWorkflow & { __annotation: unknown } {
  return { ...w, steps: w.steps.map(annotateStep), __annotation: { extractable_fields: {}, readonly_fields: READONLY_FIELDS } };
}
