import type { Clock } from '../../domain/clock.js';
import type { NewMessage, RunEffect, RunRow, RunState } from '../../domain/run.js';
import type { Step, WorkflowDefinition } from '../../domain/workflow.js';
import type { OutboundOptions } from '../../net/outbound-http.js';
import type { EmailTracking } from '../../tracking/port.js';
import type { EngineCaches } from '../caches.js';
import type { EngineStore } from '../ports.js';
import type { PreferenceLayer } from '../preference-layers.js';
import type { RunScope } from '../run-scope.js';

export interface StepDeps {
  store: EngineStore;
  clock: Clock;
  caches: EngineCaches;
  /** http_fetch: the SSRF guard's allowance and the request timeout (tests shorten it). */
  fetch?: OutboundOptions;
  /** Email link/open tracking (src/tracking); null = emails are stored as rendered. */
  tracking?: EmailTracking | null;
}

/** What a step sees: the run as it stands after the steps before it in this advance. */
export interface StepContext {
  deps: StepDeps;
  run: RunRow;
  def: WorkflowDefinition;
  step: Step & { settings?: Record<string, any> | null };
  scope: RunScope;
  state: RunState;
  /** The recipient's applicable preference sets, highest precedence first. */
  preferences: PreferenceLayer[];
  now: Date;
}

/**
 * How a step ended. Nothing is written while planning: messages, the new run data and the
 * effects are committed by the run's checkpoint, atomically with the step's completion, and
 * only if the run is still held and not cancelled. A step that throws is retried (3 attempts).
 */
export type StepResult =
  | {
    kind: 'completed';
    /** Recorded on the step_completed event. */
    event?: Record<string, unknown>;
    messages?: NewMessage[];
    /** The run's data from now on (fetch, update_data). */
    data?: Record<string, unknown>;
    effects?: RunEffect[];
    /** State the step leaves for later steps (merged). */
    state?: Partial<RunState>;
  }
  | { kind: 'skipped'; reason: string; error?: boolean; event?: Record<string, unknown> }
  /** The run waits until `until` and then resumes at the next step (or re-runs this one with `retry`). */
  | { kind: 'paused'; until: Date; state?: Partial<RunState>; event?: Record<string, unknown>; retry?: boolean }
  /** The run stops here (throttled, a failed fetch, ...); `error` counts it as a failed run. */
  | { kind: 'halted'; reason: string; error?: boolean; event?: Record<string, unknown>; state?: Partial<RunState> };

export type StepHandler = (ctx: StepContext) => Promise<StepResult>;
