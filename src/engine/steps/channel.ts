import { runChannelStep } from '../channel-step.js';
import type { StepHandler } from './types.js';

/** A channel step: preferences decide, the template renders, the message is created at checkpoint. */
export const channelStep: StepHandler = async ({ deps, run, def, step, scope, state, preferences }) => {
  const result = await runChannelStep(deps, { run, def, step: step as any, scope, sandbox: !!state.settings?.sandbox_mode, preferences });
  if (result.kind === 'skipped') {
    // Whatever else the skip carries (e.g. the preference explanation) goes on the run event.
    const { kind: _k, reason, ...details } = result as { kind: 'skipped'; reason: string } & Record<string, unknown>;
    return { kind: 'skipped', reason, event: Object.keys(details).length > 0 ? details : undefined };
  }
  return { kind: 'completed', event: { message_id: result.message.id }, messages: [result.message] };
};
