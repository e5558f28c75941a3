import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../domain/clock.js';
import { evaluateConditionGroup } from '../domain/conditions.js';
import { resolveDelayUntil } from '../domain/duration.js';
import type { WorkflowDefinition } from '../domain/workflow.js';
import type { Db } from '../store/db.js';
import type { RunEvent, RunRow, RunState } from '../store/runs.js';
import { checkpointRun, type NewMessage, type RunProgress } from '../store/checkpoint.js';
import { runChannelStep } from './channel-step.js';
import { cachedDefinition, type EngineCaches } from './caches.js';
import { loadRunScope, type RunScope } from './run-scope.js';

export interface AdvanceDeps {
  db: Db;
  clock: Clock;
  logger: FastifyBaseLogger;
  caches: EngineCaches;
}

/** A step that throws is tried this many times in total, then the run halts (Knock: 3). */
export const MAX_STEP_ATTEMPTS = 3;
const RETRY_BACKOFF_MS = 30_000;

type Step = WorkflowDefinition['steps'][number] & { ref: string; type: string; conditions?: any; settings?: any };

/**
 * Advances one claimed run as far as it can go: until it pauses (delay), finishes, fails or is
 * found cancelled. Every outcome is committed by a checkpoint that only succeeds while this
 * worker holds the run; a run cancelled meanwhile makes the checkpoint match nothing, so the
 * outcome (messages, events) is never written.
 */
export async function advanceRun(deps: AdvanceDeps, run: RunRow, owner: string): Promise<void> {
  const now = () => deps.clock.now();
  const events: RunEvent[] = [];
  const ev = (event: string, step: Step | null, data?: Record<string, unknown>, status: 'ok' | 'error' = 'ok', attempt?: number) =>
    events.push({ id: randomUUID(), recipient_run_id: run.id, event, status, step_ref: step?.ref ?? null, step_type: step?.type ?? null, attempt: attempt ?? null, data: data ?? null, inserted_at: now() });

  let state: RunState = { ...run.state };
  let position = run.position;

  const messages: NewMessage[] = [];

  /**
   * Commits progress with the pending events and messages in one atomic statement. Steps that
   * only compute (conditions, rendering) are checkpointed together at the next pause or the end;
   * false = the run is no longer ours (cancelled, or the lease was taken over): nothing is written.
   */
  const commit = (p: Omit<RunProgress, 'state' | 'position'> & { position?: number }) =>
    checkpointRun(deps.db, run.id, owner, { ...p, position: p.position ?? position, state }, now(), events.splice(0), messages.splice(0));
  const finish = (errorCount?: number) => commit({ status: 'completed', wakeAt: null, errorCount });

  const def = await cachedDefinition(deps.db, deps.caches, run.workflow_sha);
  if (!def) {
    ev('run_failed', null, { reason: `workflow version ${run.workflow_sha} is missing` }, 'error');
    await finish(run.error_count + 1);
    return;
  }
  const scope: RunScope = await loadRunScope(deps.db, run, def);
  const conditionScope = { ...scope, workflow: { ...scope.workflow } };

  if (!state.started) {
    state = { ...state, started: true };
    ev('run_started', null);
    if (!evaluateConditionGroup(def.conditions as any, conditionScope, now())) {
      ev('run_halted', null, { reason: 'the workflow\'s trigger conditions are not met' });
      ev('run_completed', null);
      await finish();
      return;
    }
  }
  if (state.waiting) {
    const lateMs = Math.max(0, now().getTime() - new Date(state.waiting.until).getTime());
    const step = def.steps.find((s) => s.ref === state.waiting!.step_ref) as Step | undefined;
    ev('step_completed', step ?? null, { delayed_until: state.waiting.until, late_ms: lateMs });
    const { waiting: _w, ...rest } = state;
    state = rest;
  }

  while (position < def.steps.length) {
    const step = def.steps[position] as Step;
    if (step.conditions && !evaluateConditionGroup(step.conditions, conditionScope, now())) {
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
      await commit({ status: 'paused', position: position + 1, wakeAt: resolved.until });
      return;
    }
    if (step.type === 'channel') {
      ev('step_started', step);
      let outcome;
      try {
        outcome = await runChannelStep(deps, { run, def, step: step as any, scope, sandbox: !!state.settings?.sandbox_mode });
      } catch (err) {
        const message = (err as Error).message;
        const failures = state.failures && state.failures.step_ref === step.ref ? state.failures.count + 1 : 1;
        ev('step_failed', step, { error: message }, 'error', failures);
        if (failures < MAX_STEP_ATTEMPTS) {
          state = { ...state, failures: { step_ref: step.ref, count: failures } };
          await commit({ status: 'queued', wakeAt: new Date(now().getTime() + RETRY_BACKOFF_MS * failures), keepAttempts: true });
        } else {
          const { failures: _f, ...rest } = state;
          state = rest;
          ev('run_halted', step, { reason: `step "${step.ref}" failed ${failures} times` }, 'error');
          await finish(run.error_count + 1);
        }
        return;
      }
      if (outcome.kind === 'skipped') {
        ev('step_skipped', step, { reason: outcome.reason });
        position++;
        continue;
      }
      ev('step_completed', step, { message_id: outcome.message.id });
      messages.push(outcome.message);
      const { failures: _f, ...rest } = state;
      state = rest;
      position++;
      continue;
    }
    ev('step_skipped', step, { reason: `step type "${step.type}" is not supported yet` });
    position++;
  }
  ev('run_completed', null);
  await finish();
}
