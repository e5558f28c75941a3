import { resolveDelayUntil, type DelaySettings } from '../domain/duration.js';
import type { RunState } from '../domain/run.js';
import type { WorkflowDefinition } from '../domain/workflow.js';
import { hasConditions, programOf } from './program.js';

/** A run event written with the run itself (run_started, the delay's step_started). */
export interface StartEvent {
  event: string;
  step_ref: string | null;
  step_type: string | null;
  data: Record<string, unknown> | null;
}

/** How the runs of one trigger start when they start paused on their first step's delay. */
export interface PausedStart {
  position: number;
  state: RunState;
  wakeAt: Date;
  events: StartEvent[];
}

/**
 * A run whose workflow begins with a fixed delay is written already paused on it, with the
 * events its first advance would have recorded (run_started, the delay's step_started): it
 * needs no claim and no checkpoint until the delay ends, and the delay is measured from the
 * trigger. Only when that first advance could not decide anything else: no trigger conditions,
 * no trigger frequency, a delay step without conditions whose end does not depend on the
 * recipient (`delay_for` only) and is valid; a trigger with `skip_delay` starts as usual.
 * Returns null when the runs start queued.
 */
export function pausedStart(def: WorkflowDefinition, state: RunState, now: Date): PausedStart | null {
  if (state.settings?.skip_delay || hasConditions(def.conditions)) return null;
  if ((def.trigger_frequency ?? 'every_trigger') !== 'every_trigger') return null;
  const first = programOf(def)[0];
  if (!first || first.kind !== 'step' || first.step.type !== 'delay' || hasConditions(first.step.conditions)) return null;
  const settings = ((first.step as { settings?: DelaySettings | null }).settings ?? {}) as DelaySettings;
  if (typeof settings.delay_until_field_path === 'string' && settings.delay_until_field_path.trim() !== '') return null;
  const resolved = resolveDelayUntil(settings, {}, now);
  if (!resolved.ok) return null;
  const until = resolved.until.toISOString();
  return {
    position: 1,
    state: { ...state, started: true, waiting: { step_ref: first.step.ref, until } },
    wakeAt: resolved.until,
    events: [
      { event: 'run_started', step_ref: null, step_type: null, data: null },
      { event: 'step_started', step_ref: first.step.ref, step_type: 'delay', data: { delayed_until: until } },
    ],
  };
}
