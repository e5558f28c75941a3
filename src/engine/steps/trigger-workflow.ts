import type { RecipientRequest } from '../../domain/recipients.js';
import { validateTriggerData } from '../../domain/trigger-data-schema.js';
import { renderFields } from '../../templates/liquid.js';
import { cachedDefinition } from '../caches.js';
import { planTrigger } from '../trigger.js';
import { renderJsonObject } from './render-json.js';
import { tracer } from '../../telemetry/port.js';
import type { StepHandler } from './types.js';

/** Knock's defaults for every trigger_workflow setting (§5.8). */
const DEFAULTS = {
  recipients: '{{ recipient.id }}',
  actor: '{{ actor.id }}',
  tenant: '{{ tenant.id }}',
  data: '{{ data | json }}',
  cancellation_key: '{{ workflow.cancellation_key }}',
};

/**
 * Runs started by trigger_workflow steps may themselves trigger workflows, at most this deep:
 * a workflow that (directly or through others) triggers itself stops there, with the reason on
 * the halted run, instead of running for ever.
 */
export const MAX_TRIGGER_WORKFLOW_DEPTH = 10;

/** A rendered recipients/actor value: JSON (a list, an object reference, a string) or a plain id. */
function readRecipients(text: string): RecipientRequest[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (/^[[{"]/.test(trimmed)) {
    const parsed: unknown = JSON.parse(trimmed);
    const list = Array.isArray(parsed) ? parsed : [parsed];
    return list.filter((r): r is RecipientRequest => typeof r === 'string' || (r !== null && typeof r === 'object' && typeof (r as { id?: unknown }).id === 'string'));
  }
  return trimmed.split(',').map((id) => id.trim()).filter((id) => id !== '');
}

/**
 * `trigger_workflow`: triggers another workflow with Liquid-rendered recipients, actor, tenant,
 * data and cancellation key. The child trigger is committed by this run's checkpoint, so a
 * parent cancelled before the step never starts the child, and a replayed step never starts
 * it twice. Its runs' trigger_source is `workflow_step`, with the chain's depth.
 */
export const triggerWorkflowStep: StepHandler = async ({ deps, run, step, scope, now }) => {
  const settings = step.settings ?? {};
  // Runs from before depths were recorded count as one step deep.
  const depth = (run.source?.type === 'workflow_step' ? run.source.depth ?? 1 : 0) + 1;
  if (depth > MAX_TRIGGER_WORKFLOW_DEPTH) {
    return {
      kind: 'halted',
      reason: `trigger_workflow chain too deep: this run was started by ${depth - 1} chained trigger_workflow steps, the limit is ${MAX_TRIGGER_WORKFLOW_DEPTH}`,
      error: true,
    };
  }
  // The text settings in one round trip to a render process.
  const setting = (field: keyof typeof DEFAULTS) => ({ source: String(settings[field] ?? DEFAULTS[field]) });
  const rendered = await renderFields({
    'settings.workflow_key': { source: String(settings.workflow_key ?? '') },
    'settings.recipients': setting('recipients'),
    'settings.actor': setting('actor'),
    'settings.tenant': setting('tenant'),
    'settings.cancellation_key': setting('cancellation_key'),
  }, scope);
  const render = (field: Exclude<keyof typeof DEFAULTS, 'data'>) => rendered[`settings.${field}`];
  const workflowKey = rendered['settings.workflow_key'].trim();
  if (workflowKey === '') throw new Error('settings.workflow_key rendered empty');
  const head = await deps.store.workflowHead(workflowKey);
  if (!head) return { kind: 'skipped', reason: `workflow "${workflowKey}" does not exist`, error: true };
  if (!head.active) return { kind: 'skipped', reason: `workflow "${workflowKey}" is inactive` };

  const recipients = readRecipients(render('recipients'));
  if (recipients.length === 0) return { kind: 'skipped', reason: 'settings.recipients rendered no recipient' };
  const actor = readRecipients(render('actor'))[0] ?? null;
  const tenant = render('tenant').trim() || null;
  const cancellationKey = render('cancellation_key').trim() || null;
  const data = await renderJsonObject(settings.data ?? DEFAULTS.data, scope, 'settings.data');
  const def = await cachedDefinition(deps.store, deps.caches, head.sha);
  const schema = def?.trigger_data_json_schema;
  if (schema && typeof schema === 'object') {
    const problems = validateTriggerData(schema as object, data);
    if (problems.length > 0) throw new Error(`the data does not match ${workflowKey}'s trigger_data_json_schema: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`);
  }

  const write = planTrigger(workflowKey, head.sha, { recipients, actor, tenant, data, cancellation_key: cancellationKey }, {
    source: { type: 'workflow_step', parent_recipient_run_id: run.id, step_ref: step.ref, depth },
  }, now);
  return {
    kind: 'completed',
    // The active span is this run's advance: stored with the child trigger, as an HTTP trigger's
    // server span is, its runs continue this trace in whichever process takes them.
    effects: [{ type: 'trigger', trigger: write.trigger, runs: write.runs, fanOut: write.fanOut, state: write.state, traceContext: tracer().current() }],
    event: { workflow: workflowKey, workflow_run_id: write.trigger.id, recipients: write.runs.length },
  };
};
