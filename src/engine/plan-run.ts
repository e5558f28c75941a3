import { randomUUID } from 'node:crypto';
import { evaluateConditionGroup } from '../domain/conditions.js';
import { resolveDelayUntil } from '../domain/duration.js';
import type { WorkflowDefinition } from '../domain/workflow.js';
import type { NewMessage, RunEvent, RunOutcome, RunRow, RunState } from '../domain/run.js';
import { runChannelStep, type ChannelStepDeps } from './channel-step.js';
import type { RunScope } from './run-scope.js';
import type { PreferenceLayer } from './preference-layers.js';

/** A step that throws is tried this many times in total, then the run halts (Knock: 3). */
export const MAX_STEP_ATTEMPTS = 3;
const RETRY_BACKOFF_MS = 30_000;

type Step = WorkflowDefinition['steps'][number] & { ref: string; type: string; conditions?: any; settings?: any };

/**
 * Works out how far one claimed run gets now: it walks the steps until the run pauses (delay),
 * finishes, or a step fails. Nothing is written here; the result (new position and state, run
 * events, messages) is committed by the batch checkpoint, atomically and only if the run is
 * still held by this worker and not cancelled.
 */
export async function planRun(deps: ChannelStepDeps, run: RunRow, def: WorkflowDefinition, scope: RunScope, preferences: PreferenceLayer[]): Promise<RunOutcome> {
  const now = () => deps.clock.now();
  const events: RunEvent[] = [];
  const messages: NewMessage[] = [];
  const ev = (event: string, step: Step | null, data?: Record<string, unknown>, status: 'ok' | 'error' = 'ok', attempt?: number) =>
    events.push({ id: randomUUID(), recipient_run_id: run.id, event, status, step_ref: step?.ref ?? null, step_type: step?.type ?? null, attempt: attempt ?? null, data: data ?? null, inserted_at: now() });
  let state: RunState = { ...run.state };
  let position = run.position;
  const outcome = (p: Omit<RunOutcome, 'runId' | 'events' | 'messages' | 'state' | 'position'>): RunOutcome =>
    ({ runId: run.id, position, state, events, messages, ...p });
  const finish = (errorCount?: number) => outcome({ status: 'completed', wakeAt: null, errorCount });

  if (!state.started) {
    state = { ...state, started: true };
    ev('run_started', null);
    if (!evaluateConditionGroup(def.conditions as any, scope, now())) {
      ev('run_halted', null, { reason: 'the workflow\'s trigger conditions are not met' });
      ev('run_completed', null);
      return finish();
    }
  }
  if (state.waiting) {
    // Lateness of the timer is recorded so delay precision is visible per run.
    const lateMs = Math.max(0, now().getTime() - new Date(state.waiting.until).getTime());
    const step = def.steps.find((s) => s.ref === state.waiting!.step_ref) as Step | undefined;
    ev('step_completed', step ?? null, { delayed_until: state.waiting.until, late_ms: lateMs });
    const { waiting: _w, ...rest } = state;
    state = rest;
  }

  while (position < def.steps.length) {
    const step = def.steps[position] as Step;
    if (step.conditions && !evaluateConditionGroup(step.conditions, scope, now())) {
      ev('step_skipped', step, { reason: 'the step\'s conditions are not met' });
      position++;
      continue;
    }
    if (step.type === 'delay') {
      if (state.settings?.skip_delay) {
        ev('step_skipped', step, { reason: 'skip_delay was set on the trigger' });
        position++;
        continue;
      }
      const resolved = resolveDelayUntil(step.settings ?? {}, scope, now());
      if (!resolved.ok) {
        ev('step_skipped', step, { reason: resolved.reason }, 'error');
        position++;
        continue;
      }
      ev('step_started', step, { delayed_until: resolved.until.toISOString() });
      state = { ...state, waiting: { step_ref: step.ref, until: resolved.until.toISOString() } };
      position++;
      return outcome({ status: 'paused', wakeAt: resolved.until });
    }
    if (step.type === 'channel') {
      ev('step_started', step);
      let result;
      try {
        result = await runChannelStep(deps, { run, def, step: step as any, scope, sandbox: !!state.settings?.sandbox_mode, preferences });
      } catch (err) {
        const failures = state.failures && state.failures.step_ref === step.ref ? state.failures.count + 1 : 1;
        ev('step_failed', step, { error: (err as Error).message }, 'error', failures);
        if (failures < MAX_STEP_ATTEMPTS) {
          state = { ...state, failures: { step_ref: step.ref, count: failures } };
          return outcome({ status: 'queued', wakeAt: new Date(now().getTime() + RETRY_BACKOFF_MS * failures), keepAttempts: true });
        }
        const { failures: _f, ...rest } = state;
        state = rest;
        ev('run_halted', step, { reason: `step "${step.ref}" failed ${failures} times` }, 'error');
        return finish(run.error_count + 1);
      }
      if (result.kind === 'skipped') {
        ev('step_skipped', step, { reason: result.reason });
      } else {
        ev('step_completed', step, { message_id: result.message.id });
        messages.push(result.message);
        const { failures: _f, ...rest } = state;
        state = rest;
      }
      position++;
      continue;
    }
    ev('step_skipped', step, { reason: `step type "${step.type}" is not supported yet` });
    position++;
  }
  ev('run_completed', null);
  return finish();
}
