import { randomUUID } from 'node:crypto';
import { evaluateConditionGroup } from '../domain/conditions.js';
import type { Step, WorkflowDefinition } from '../domain/workflow.js';
import type { NewMessage, RunEffect, RunEvent, RunOutcome, RunRow, RunState } from '../domain/run.js';
import type { RunScope } from './run-scope.js';
import type { PreferenceLayer } from './preference-layers.js';
import { programOf } from './program.js';
import { STEP_HANDLERS } from './steps/index.js';
import type { StepDeps, StepResult } from './steps/types.js';
import { addMessageRefs } from './message-refs.js';
import { triggerFrequencyHalt } from './trigger-frequency.js';
import { TemplateRenderError } from '../templates/liquid.js';

/** A step that throws is tried this many times in total, then the run halts (Knock: 3). */
export const MAX_STEP_ATTEMPTS = 3;
const RETRY_BACKOFF_MS = 30_000;

/**
 * Works out how far one claimed run gets now: it walks the workflow's program until the run
 * pauses (delay, retry backoff), finishes, halts, or a step fails. Nothing is written here; the
 * result (new position, state and data, run events, messages, effects) is committed by the
 * batch checkpoint, atomically and only if the run is still held by this worker and not
 * cancelled.
 */
export async function planRun(deps: StepDeps, run: RunRow, def: WorkflowDefinition, scope: RunScope, preferences: PreferenceLayer[]): Promise<RunOutcome> {
  const now = () => deps.clock.now();
  const events: RunEvent[] = [];
  const messages: NewMessage[] = [];
  const effects: RunEffect[] = [];
  let data: Record<string, unknown> | undefined;
  const ev = (event: string, step: Step | null, details?: Record<string, unknown>, status: 'ok' | 'error' = 'ok', attempt?: number) =>
    events.push({ id: randomUUID(), recipient_run_id: run.id, event, status, step_ref: step?.ref ?? null, step_type: step?.type ?? null, attempt: attempt ?? null, data: details ?? null, inserted_at: now() });
  let state: RunState = { ...run.state };
  let position = run.position;
  const outcome = (p: Omit<RunOutcome, 'runId' | 'events' | 'messages' | 'state' | 'position'>): RunOutcome =>
    ({ runId: run.id, position, state, events, messages, ...(data ? { data } : {}), ...(effects.length ? { effects } : {}), ...p });
  const finish = (errorCount?: number) => outcome({ status: 'completed', wakeAt: null, errorCount });
  const program = programOf(def);

  if (!state.started) {
    state = { ...state, started: true };
    ev('run_started', null);
    if (!evaluateConditionGroup(def.conditions as any, scope, now())) {
      ev('run_halted', null, { reason: 'the workflow\'s trigger conditions are not met' });
      ev('run_completed', null);
      return finish();
    }
    const onceOnly = await triggerFrequencyHalt(deps.store, run, def, now());
    if (onceOnly) {
      ev('run_halted', null, { reason: onceOnly });
      ev('run_completed', null);
      return finish();
    }
  }
  if (state.waiting) {
    // Lateness of the timer is recorded so delay precision is visible per run: when the timer
    // loop fired it (store/timers.ts stamps fired_at), or now when a claim reached it first.
    const endedAt = state.waiting.fired_at ? new Date(state.waiting.fired_at).getTime() : now().getTime();
    const lateMs = Math.max(0, endedAt - new Date(state.waiting.until).getTime());
    const ins = program.find((i) => i.kind === 'step' && i.step.ref === state.waiting!.step_ref);
    ev('step_completed', ins && ins.kind === 'step' ? ins.step : null, { delayed_until: state.waiting.until, late_ms: lateMs });
    const { waiting: _w, ...rest } = state;
    state = rest;
  }

  while (position < program.length) {
    const ins = program[position];
    if (ins.kind === 'jump') {
      position = ins.target;
      continue;
    }
    if (ins.kind === 'branch') {
      // The first branch whose conditions hold runs; the default branch (no conditions) otherwise.
      const arm = ins.arms.find((a) => a.conditions !== null && evaluateConditionGroup(a.conditions as any, scope, now()))
        ?? ins.arms.find((a) => a.conditions === null);
      ev('step_completed', ins.step, { branch: arm?.name ?? null });
      position = arm ? arm.target : position + 1;
      continue;
    }
    const step = ins.step as Step & { settings?: Record<string, any> | null };
    if (step.conditions && !evaluateConditionGroup(step.conditions as any, scope, now())) {
      ev('step_skipped', step, { reason: 'the step\'s conditions are not met' });
      position++;
      continue;
    }
    const handler = STEP_HANDLERS[step.type];
    if (!handler) {
      ev('step_skipped', step, { reason: `step type "${step.type}" is not supported yet` });
      position++;
      continue;
    }
    ev('step_started', step);
    let result: StepResult;
    try {
      result = await handler({ deps, run, def, step, scope, state, preferences, now: now() });
    } catch (err) {
      const failures = state.failures && state.failures.step_ref === step.ref ? state.failures.count + 1 : 1;
      ev('step_failed', step, { error: (err as Error).message }, 'error', failures);
      if (err instanceof TemplateRenderError && err.limit !== null) {
        // A template over its time or memory bound fails the same way every time: halt now
        // rather than tie up a render process twice more.
        state = withoutFailures(state);
        ev('run_halted', step, { reason: err.message }, 'error');
        return finish(run.error_count + 1);
      }
      if (failures < MAX_STEP_ATTEMPTS) {
        state = { ...state, failures: { step_ref: step.ref, count: failures } };
        return outcome({ status: 'queued', wakeAt: new Date(now().getTime() + RETRY_BACKOFF_MS * failures) });
      }
      state = withoutFailures(state);
      ev('run_halted', step, { reason: `step "${step.ref}" failed ${failures} times` }, 'error');
      return finish(run.error_count + 1);
    }
    switch (result.kind) {
      case 'skipped':
        ev('step_skipped', step, { reason: result.reason, ...result.event }, result.error ? 'error' : 'ok');
        position++;
        continue;
      case 'halted':
        state = { ...withoutFailures(state), ...result.state };
        ev('run_halted', step, { reason: result.reason, ...result.event }, result.error ? 'error' : 'ok');
        ev('run_completed', null);
        position++;
        return finish(result.error ? run.error_count + 1 : undefined);
      case 'paused':
        state = { ...withoutFailures(state), ...result.state };
        if (result.event) events[events.length - 1].data = result.event;
        if (!result.retry) position++;
        return outcome({ status: 'paused', wakeAt: result.until });
      case 'completed':
        if (result.messages) {
          messages.push(...result.messages);
          addMessageRefs(scope, result.messages);
        }
        if (result.effects) effects.push(...result.effects);
        if (result.data) {
          data = result.data;
          scope.data = result.data;
        }
        state = { ...withoutFailures(state), ...result.state };
        ev('step_completed', step, result.event);
        position++;
        continue;
    }
  }
  ev('run_completed', null);
  return finish();
}

function withoutFailures(state: RunState): RunState {
  const { failures: _f, ...rest } = state;
  return rest;
}
