/**
 * "Would this recipient get workflow W on channel C now, and why not": the preference decision
 * of every channel step of the workflow's current version (or the one for `channel_key`),
 * computed exactly as the step would (routes/preference-explain.ts), plus whether the workflow
 * is active at all.
 */
import { errors } from '../../domain/errors.js';
import { toReference } from '../../domain/recipients.js';
import type { Step } from '../../domain/workflow.js';
import { findChannel } from '../../store/channels.js';
import { getWorkflow } from '../../store/workflows.js';
import { explainChannelPreference } from '../routes/preference-explain.js';
import type { ApiDeps, App } from '../types.js';
import { dashboardContext } from './context.js';
import { parseRecipient } from './query-params.js';
import { ExplainAnswer, ExplainQuery } from './schemas.js';

/** Channel steps with a channel key, branches included, in order. */
function channelSteps(steps: Step[] | undefined, out: { ref: string; channel_key: string }[] = []) {
  for (const s of steps ?? []) {
    const step = s as Step & { channel_key?: unknown; branches?: { steps?: Step[] }[]; cohort_branches?: { steps?: Step[] }[] };
    if (step.type === 'channel' && typeof step.channel_key === 'string') out.push({ ref: step.ref, channel_key: step.channel_key });
    for (const b of [...(step.branches ?? []), ...(step.cohort_branches ?? [])]) channelSteps(b.steps, out);
  }
  return out;
}

export function registerExplainRoute(app: App, deps: ApiDeps): void {
  const contextOf = dashboardContext(deps);

  app.get('/dashboard/api/explain', {
    config: { auth: 'secret', dashboard: true },
    schema: { tags: ['dashboard'], querystring: ExplainQuery, response: { 200: ExplainAnswer } },
  }, async (request) => {
    const { db } = await contextOf(request);
    const q = request.query;
    const recipient = parseRecipient(q.recipient)!;
    const workflow = await getWorkflow(db, q.workflow);
    if (!workflow) throw errors.workflowMissing(q.workflow);
    const steps = channelSteps(workflow.definition.steps).filter((s) => q.channel_key === undefined || s.channel_key === q.channel_key);
    if (q.channel_key !== undefined && steps.length === 0) {
      throw errors.invalidParams(`The workflow "${q.workflow}" has no step on channel "${q.channel_key}".`, [{ field: 'channel_key', message: 'no step of the workflow uses this channel', type: 'invalid' }]);
    }
    const now = deps.clock.now();
    const channels = [];
    for (const step of steps) {
      const channel = await findChannel(db, step.channel_key);
      const preference = await explainChannelPreference(db, now, { recipient: toReference(recipient), workflow: q.workflow, channel_key: step.channel_key, tenant: q.tenant ?? null });
      const reason = !workflow.active ? `the workflow "${q.workflow}" is inactive`
        : !channel ? `the channel "${step.channel_key}" does not exist`
          : preference.allowed ? null : `preferences: ${preference.reason ?? 'not allowed'}`;
      channels.push({ step_ref: step.ref, channel_key: step.channel_key, channel_type: channel?.type ?? null, would_send: reason === null, reason, preference });
    }
    return { recipient: toReference(recipient), workflow: q.workflow, tenant: q.tenant ?? null, would_send: channels.some((c) => c.would_send), channels };
  });
}
