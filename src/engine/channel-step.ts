import type { Clock } from '../domain/clock.js';
import type { WorkflowDefinition } from '../domain/workflow.js';
import { toReference } from '../domain/recipients.js';
import { renderInAppFeed } from '../templates/in-app-feed.js';
import { renderEmail } from '../templates/email.js';
import { needsDelivery } from '../domain/channel-config.js';
import { newMessageId } from '../domain/message-id.js';
import { explainPreferences, type PreferenceExplanation } from '../domain/preferences.js';
import type { BatchResult, NewMessage, RunRow } from '../domain/run.js';
import type { ChannelInfo, EngineStore } from './ports.js';
import type { RunScope } from './run-scope.js';
import type { PreferenceLayer } from './preference-layers.js';
import type { EngineCaches } from './caches.js';

export type ChannelOutcome =
  /** A preference skip also carries the explanation's other fields, recorded on the run event. */
  | ({ kind: 'skipped'; reason: string } & Partial<Omit<PreferenceExplanation, 'reason'>>)
  | { kind: 'message'; message: NewMessage };

/**
 * The preference decision for one channel of a workflow, explained. Channel steps and the
 * explanation endpoint both call this, so the endpoint always answers what a step would do.
 */
export function channelPreferenceExplanation(
  def: WorkflowDefinition,
  channel: { id: string; type: string },
  layers: PreferenceLayer[],
  scope: RunScope,
  now: Date,
): PreferenceExplanation {
  return explainPreferences({
    layers,
    workflow: { key: def.key, categories: def.categories ?? [], isCommercial: !!def.settings?.is_commercial, overridePreferences: !!def.settings?.override_preferences },
    channel,
    scope,
    now,
  });
}

interface ChannelStepInput {
  run: RunRow;
  def: WorkflowDefinition;
  step: { ref: string; channel_key?: string; template?: Record<string, unknown>; channel_overrides?: Record<string, unknown> | null };
  scope: RunScope;
  sandbox: boolean;
  /** The recipient's applicable preference sets, highest precedence first. */
  preferences: PreferenceLayer[];
  /** Set when the step follows a batch step. */
  batch?: BatchResult | null;
}

// Channels change rarely; a short cache keeps a lookup off every step of every run.
async function channelByKey(deps: ChannelStepDeps, key: string): Promise<ChannelInfo | null> {
  const hit = deps.caches.channels.get(key);
  if (hit && Date.now() - hit.at < 10_000) return hit.row;
  const row = await deps.store.channelByKey(key);
  deps.caches.channels.set(key, { at: Date.now(), row });
  return row;
}

export interface ChannelStepDeps {
  store: EngineStore;
  clock: Clock;
  caches: EngineCaches;
}

/**
 * Renders a channel step and prepares its message. Nothing is written here: the message is
 * created by the run's next checkpoint, atomically with the step's completion.
 */
export async function runChannelStep(deps: ChannelStepDeps, input: ChannelStepInput): Promise<ChannelOutcome> {
  const { run, def, step, scope, sandbox } = input;
  if (!step.channel_key) return { kind: 'skipped', reason: 'the step names no channel_key (channel groups are not supported yet)' };
  const channel = await channelByKey(deps, step.channel_key);
  if (!channel) return { kind: 'skipped', reason: `channel "${step.channel_key}" is not configured` };
  if (channel.type !== 'in_app_feed' && channel.type !== 'email') return { kind: 'skipped', reason: `channel type "${channel.type}" is not supported yet` };
  // Knock checks the recipient's data for the channel before preferences (§5.10).
  const email = channel.type === 'email' ? recipientEmail(scope) : null;
  if (channel.type === 'email' && !email) return { kind: 'skipped', reason: 'recipient has no email' };
  const explanation = channelPreferenceExplanation(def, { id: channel.id, type: channel.type }, input.preferences, scope, deps.clock.now());
  if (!explanation.allowed) return { kind: 'skipped', ...explanation };

  const batch = input.batch ?? null;
  const content: Record<string, unknown> = channel.type === 'email'
    ? { ...await renderEmail(step.template ?? {}, step.channel_overrides, scope as any, { settings: channelSettings(channel), to: email! }) }
    : { blocks: await renderInAppFeed((step.template ?? {}) as any, scope as any) };
  // Email and other provider channels stay `queued` until the delivery job sends them.
  const deliver = needsDelivery(channel.type);
  const now = deps.clock.now();
  return {
    kind: 'message',
    message: {
      id: newMessageId(now),
      channelId: channel.id,
      recipient: { collection: run.recipient_collection, id: run.recipient_id },
      workflowKey: run.workflow_key,
      workflowSha: run.workflow_sha,
      categories: def.categories ?? [],
      workflowRunId: run.workflow_run_id,
      recipientRunId: run.id,
      stepRef: step.ref,
      tenantId: run.tenant_id,
      // After a batch the message carries the batch's actors and totals (Knock's batched messages).
      actors: batch ? batch.actors.map(toReference) : run.actor ? [toReference(run.actor)] : [],
      batchId: batch?.batch_id ?? null,
      totalActivities: batch ? batch.total_activities : null,
      totalActors: batch ? batch.total_actors : null,
      // Sandbox mode renders and records the message but never delivers it.
      status: sandbox ? 'not_sent' : deliver ? 'queued' : 'delivered',
      // Knock: Message.data is the run's data as it stands at this step (after fetch or update_data).
      data: scope.data,
      content,
      eventTypes: sandbox ? ['message.not_sent'] : deliver ? ['message.queued'] : ['message.queued', 'message.delivered'],
      deliver: !sandbox && deliver,
      insertedAt: now,
    },
  };
}

function recipientEmail(scope: RunScope): string | null {
  const email = (scope.recipient as { email?: unknown } | undefined)?.email;
  return typeof email === 'string' && email.trim() !== '' ? email.trim() : null;
}

/** The store returns the whole channel row; only non-secret defaults (from, reply_to) are read here. */
function channelSettings(channel: ChannelInfo): Record<string, unknown> {
  return (channel as ChannelInfo & { settings?: Record<string, unknown> }).settings ?? {};
}
