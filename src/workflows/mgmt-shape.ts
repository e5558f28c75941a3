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
