import type { Clock } from '../domain/clock.js';
import type { WorkflowDefinition } from '../domain/workflow.js';
import { toReference } from '../domain/recipients.js';
import { channelAddress } from '../domain/channel-address.js';
import { renderInAppFeed } from '../templates/in-app-feed.js';
import { renderEmail } from '../templates/email.js';
import { renderSms } from '../templates/sms.js';
import { renderPush } from '../templates/push.js';
import { renderChat } from '../templates/chat.js';
import { renderWebhook } from '../templates/webhook.js';
import { renderString } from '../templates/liquid.js';
import { needsDelivery } from '../domain/channel-config.js';
import { newMessageId } from '../domain/message-id.js';
import { explainPreferences, type PreferenceExplanation } from '../domain/preferences.js';
import type { BatchResult, NewMessage, RunRow } from '../domain/run.js';
import type { ChannelInfo, EngineStore } from './ports.js';
import type { RunScope } from './run-scope.js';
import type { PreferenceLayer } from './preference-layers.js';
import { readFresh, type EngineCaches } from './caches.js';
import type { EmailTracking } from '../tracking/port.js';
import { trackingFlags } from '../tracking/flags.js';

export type ChannelOutcome =
  /** A preference skip also carries the explanation's other fields, recorded on the run event. */
  | ({ kind: 'skipped'; reason: string } & Partial<Omit<PreferenceExplanation, 'reason'>>)
  | { kind: 'messages'; messages: NewMessage[]; skipped: { channel_key: string; reason: string }[] };

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

export interface ChannelStepInput {
  run: RunRow;
  def: WorkflowDefinition;
  step: { ref: string; channel_key?: string | null; channel_group_key?: string | null; template?: Record<string, unknown>; channel_overrides?: Record<string, unknown> | null };
  scope: RunScope;
  sandbox: boolean;
  /** The recipient's applicable preference sets, highest precedence first. */
  preferences: PreferenceLayer[];
  /** Set when the step follows a batch step. */
  batch?: BatchResult | null;
}

// Channels change rarely; a short cache keeps a lookup off every step of every run.
function channelByKey(deps: ChannelStepDeps, key: string): Promise<ChannelInfo | null> {
  return readFresh(deps.caches.channels, key, (k) => deps.store.channelByKey(k));
}

export interface ChannelStepDeps {
  store: EngineStore;
  clock: Clock;
  caches: EngineCaches;
  /** Email link/open tracking (src/tracking); null = emails are stored as rendered. */
  tracking?: EmailTracking | null;
}

/**
 * The channels a step targets, in order: its `channel_key`, or its group's channels (unknown
 * keys left out). A string is the reason the step has none.
 */
export async function stepChannels(deps: ChannelStepDeps, step: ChannelStepInput['step']): Promise<{ channels: ChannelInfo[]; mode: 'all' | 'first' } | string> {
  if (step.channel_group_key) {
    const group = await deps.store.channelGroup(step.channel_group_key);
    if (!group) return `channel group "${step.channel_group_key}" is not configured`;
    const channels = (await Promise.all(group.channel_keys.map((k) => channelByKey(deps, k)))).filter((c): c is ChannelInfo => c !== null);
    if (channels.length === 0) return `none of channel group "${group.key}"'s channels is configured`;
    return { channels, mode: group.mode };
  }
  if (!step.channel_key) return 'the step names no channel_key or channel_group_key';
  const channel = await channelByKey(deps, step.channel_key);
  if (!channel) return `channel "${step.channel_key}" is not configured`;
  return { channels: [channel], mode: 'all' };
}

/**
 * Renders a channel step and prepares its messages (one, or one per channel of a group).
 * Nothing is written here: the messages are created by the run's next checkpoint, atomically
 * with the step's completion. Knock's order per channel: the recipient's data for the channel,
 * then preferences, then rendering.
 */
export async function runChannelStep(deps: ChannelStepDeps, input: ChannelStepInput): Promise<ChannelOutcome> {
  const target = await stepChannels(deps, input.step);
  if (typeof target === 'string') return { kind: 'skipped', reason: target };
  const messages: NewMessage[] = [];
  const skipped: { channel_key: string; reason: string }[] = [];
  let lastSkip: ChannelOutcome | null = null;
  for (const channel of target.channels) {
    const outcome = await prepareMessage(deps, input, channel);
    if (outcome.kind === 'skipped') {
      skipped.push({ channel_key: channel.key, reason: outcome.reason });
      lastSkip = outcome;
      continue;
    }
    messages.push(outcome.message);
    if (target.mode === 'first') break;
  }
  if (messages.length === 0) {
    // One channel: its own skip (with the preference explanation); a group: every channel's reason.
    if (target.channels.length === 1 && lastSkip) return lastSkip;
    return { kind: 'skipped', reason: `no channel of group "${input.step.channel_group_key}" could be used: ${skipped.map((s) => `${s.channel_key}: ${s.reason}`).join('; ')}` };
  }
  return { kind: 'messages', messages, skipped };
}

type Prepared = ({ kind: 'skipped'; reason: string } & Partial<Omit<PreferenceExplanation, 'reason'>>) | { kind: 'message'; message: NewMessage };

async function prepareMessage(deps: ChannelStepDeps, input: ChannelStepInput, channel: ChannelInfo): Promise<Prepared> {
  const { run, def, step, scope, sandbox } = input;
  const template = step.template ?? {};
  const recipient = scope.recipient as Record<string, unknown> | undefined;
  const channelData = channel.type === 'push' || channel.type === 'chat'
    ? await deps.store.channelData({ collection: run.recipient_collection, id: run.recipient_id }, channel.id)
    : null;
  const toNumberTemplate = (template.settings as { to_number?: unknown } | undefined)?.to_number;
  const toNumber = channel.type === 'sms' && typeof toNumberTemplate === 'string' && toNumberTemplate !== ''
    ? (await renderString(toNumberTemplate, scope as any, 'settings.to_number', { content: await deps.store.templateContent() })).trim()
    : null;
  const address = channelAddress(channel.type, recipient, channelData, toNumber);
  if (!address.ok) return { kind: 'skipped', reason: address.reason };
  const explanation = channelPreferenceExplanation(def, { id: channel.id, type: channel.type }, input.preferences, scope, deps.clock.now());
  if (!explanation.allowed) return { kind: 'skipped', ...explanation };

  const now = deps.clock.now();
  const id = newMessageId(now);
  // The environment's committed partials and translations (kept in the process, not queried).
  const templates = await deps.store.templateContent();
  let content: Record<string, unknown>;
  switch (channel.type) {
    case 'in_app_feed':
      content = { blocks: await renderInAppFeed(template as any, scope as any, templates) };
      break;
    case 'email': {
      const layout = await emailLayout(deps, template);
      if (typeof layout === 'string') return { kind: 'skipped', reason: layout };
      content = { ...await renderEmail(template, step.channel_overrides, scope as any, { settings: channel.settings ?? {}, to: address.email!, layout, content: templates }) };
      // Knock's link and open tracking change the stored HTML, once, as the message is created.
      const tracking = trackingFlags(channel.settings, step.channel_overrides);
      if (deps.tracking && typeof content.html_body === 'string') content.html_body = await deps.tracking.apply(content.html_body, { id }, tracking);
      break;
    }
    case 'sms':
      content = { ...await renderSms(template, scope as any, address.phone!, templates) };
      break;
    case 'push':
      content = { ...await renderPush(template, scope as any, address.tokens!, id, templates) };
      break;
    case 'chat':
      content = { ...await renderChat(template, scope as any, address.connections!, templates) };
      // Slack channel data may carry a token for connections that name only a channel.
      if (channelData?.token && typeof channelData.token === 'object') content.token = channelData.token;
      break;
    case 'http':
      content = { ...await renderWebhook(template, scope as any, templates) };
      break;
    default:
      return { kind: 'skipped', reason: `channel type "${channel.type}" is not supported` };
  }
  // Provider channels stay `queued` until the delivery job sends them.
  const deliver = needsDelivery(channel.type);
  const batch = input.batch ?? null;
  return {
    kind: 'message',
    message: {
      id,
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

/**
 * The layout an email template asks for with `settings.layout_key`: none without one, none for
 * `default` when no layout of that key is configured (knock-cli scaffolds it on every email),
 * and a skip reason for any other unknown key.
 */
async function emailLayout(deps: ChannelStepDeps, template: Record<string, unknown>): Promise<{ html: string | null; text: string | null } | null | string> {
  const key = (template.settings as { layout_key?: unknown } | undefined)?.layout_key;
  if (typeof key !== 'string' || key === '') return null;
  const row = await readFresh(deps.caches.layouts, key, (k) => deps.store.emailLayout(k));
  if (!row) return key === 'default' ? null : `email layout "${key}" is not configured`;
  return { html: row.html_layout, text: row.text_layout };
}
