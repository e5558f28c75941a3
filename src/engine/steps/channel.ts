import { nextSendTime, parseSendWindows } from '../../domain/send-windows.js';
import { runTimeZone } from '../../domain/window-rule.js';
import type { ChannelStep } from '../../domain/workflow.js';
import { channelPreferenceExplanation, runChannelStep, stepChannels } from '../channel-step.js';
import type { StepContext, StepHandler, StepResult } from './types.js';

/**
 * A channel step, in Knock's order (§5.10): step conditions (checked by the planner), the
 * channel, preferences, send windows, then the template renders and the message is created at
 * checkpoint. Outside its send windows the run pauses and re-runs this step when the next window
 * opens, so the message is rendered and created then (with the data and preferences of then).
 */
export const channelStep: StepHandler = async (ctx) => {
  const { deps, run, def, step, scope, state, preferences } = ctx;
  const gate = await sendWindowGate(ctx);
  if (gate) return gate;
  const result = await runChannelStep(deps, { run, def, step: step as any, scope, sandbox: !!state.settings?.sandbox_mode, preferences, batch: state.batch_result });
  if (result.kind === 'skipped') {
    // Whatever else the skip carries (e.g. the preference explanation) goes on the run event.
    const { kind: _k, reason, ...details } = result as { kind: 'skipped'; reason: string } & Record<string, unknown>;
    return { kind: 'skipped', reason, event: Object.keys(details).length > 0 ? details : undefined };
  }
  const event: Record<string, unknown> = { message_id: result.messages[0].id };
  if (result.messages.length > 1) event.message_ids = result.messages.map((m) => m.id);
  if (result.skipped.length > 0) event.channels_skipped = result.skipped;
  return { kind: 'completed', event, messages: result.messages };
};

/**
 * Null when the step may go on now: no send windows, a window is open, or the step would be
 * skipped anyway (no channel, or preferences say no — those come first and skip at once rather
 * than after a wait). Otherwise the pause until the next window, or a skip for bad windows.
 */
async function sendWindowGate({ deps, def, step: anyStep, scope, preferences, now }: StepContext): Promise<StepResult | null> {
  const step = anyStep as ChannelStep;
  if (step.send_windows == null) return null;
  const parsed = parseSendWindows(step.send_windows);
  if (!parsed.ok) return { kind: 'skipped', reason: parsed.reason, error: true };
  const zone = runTimeZone(scope);
  const at = nextSendTime(parsed.plan, now, zone);
  if (at && at.getTime() <= now.getTime()) return null;
  // Closed: a step no channel or preference would allow is skipped now, by the usual path.
  const target = await stepChannels({ store: deps.store, clock: deps.clock, caches: deps.caches }, step as any);
  if (typeof target === 'string' || !target.channels.some((c) => channelPreferenceExplanation(def, c, preferences, scope, now).allowed)) return null;
  if (!at) return { kind: 'skipped', reason: 'the step\'s send windows never open', error: true };
  return {
    kind: 'paused',
    until: at,
    retry: true,
    event: { reason: 'outside the step\'s send windows', send_window_opens_at: at.toISOString(), timezone: zone },
  };
}
