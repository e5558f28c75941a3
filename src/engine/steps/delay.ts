import { resolveDelayUntil } from '../../domain/duration.js';
import type { StepHandler } from './types.js';

/** Knock's delay (§5.3): fixed, dynamic (a field path) or relative; skip_delay bypasses it. */
export const delayStep: StepHandler = async ({ step, scope, state, now }) => {
  if (state.settings?.skip_delay) return { kind: 'skipped', reason: 'skip_delay was set on the trigger' };
  const resolved = resolveDelayUntil(step.settings ?? {}, scope, now);
  if (!resolved.ok) return { kind: 'skipped', reason: resolved.reason, error: true };
  return {
    kind: 'paused',
    until: resolved.until,
    state: { waiting: { step_ref: step.ref, until: resolved.until.toISOString() } },
    event: { delayed_until: resolved.until.toISOString() },
  };
};
