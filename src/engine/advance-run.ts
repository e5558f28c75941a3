import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../domain/clock.js';
import { evaluateConditionGroup } from '../domain/conditions.js';
import { resolveDelayUntil } from '../domain/duration.js';
import type { WorkflowDefinition } from '../domain/workflow.js';
import type { Db } from '../store/db.js';
import { checkpointRun, insertRunEvents, type RunEvent, type RunProgress, type RunRow, type RunState } from '../store/runs.js';
import { getWorkflowVersion } from '../store/workflows.js';
import { runChannelStep } from './channel-step.js';
import type { EngineCaches } from './caches.js';
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

// Definitions are content-addressed (sha), so caching them can never serve a stale version.
async function loadDefinition(deps: AdvanceDeps, sha: string): Promise<WorkflowDefinition | null> {
  const cached = deps.caches.definitions.get(sha);
  if (cached) return cached;
  const def = await getWorkflowVersion(deps.db, sha);
  if (def) deps.caches.definitions.set(sha, def);
  return def;
}

/**
 * Advances one claimed run as far as it can go: until it pauses (delay), finishes, fails or is
 * found cancelled. Every outcome is committed by a checkpoint that only succeeds while this
 * worker holds the run; a run cancelled meanwhile makes the checkpoint fail and the outcome
 * (message, events) is discarded with the rolled-back transaction.
 */
export async function advanceRun(deps: AdvanceDeps, run: RunRow, owner: string): Promise<void> {
  const now = () => deps.clock.now();
  const events: RunEvent[] = [];
  const ev = (event: string, step: Step | null, data?: Record<string, unknown>, status: 'ok' | 'error' = 'ok', attempt?: number) =>
    events.push({ id: randomUUID(), recipient_run_id: run.id, event, status, step_ref: step?.ref ?? null, step_type: step?.type ?? null, attempt: attempt ?? null, data: data ?? null, inserted_at: now() });

  let state: RunState = { ...run.state };
  let position = run.position;

  /** Commits progress plus pending events (and `extra` work) atomically; false = run is no longer ours. */
  const commit = async (p: Omit<RunProgress, 'state' | 'position'> & { position?: number }, extra?: (tx: Parameters<Parameters<Db['transaction']>[0]>[0]) => Promise<void>) => {
    const ok = await deps.db.transaction(async (tx) => {
      if (!(await checkpointRun(tx, run.id, owner, { ...p, position: p.position ?? position, state }, now()))) return false;
      await insertRunEvents(tx, events.splice(0));
      if (extra) await extra(tx);
      return true;
    });
    if (!ok) events.length = 0;
    return ok;
  };
  const finish = (errorCount?: number) => commit({ status: 'completed', wakeAt: null, errorCount });

  const def = await loadDefinition(deps, run.workflow_sha);
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
          await commit({ status: 'queued', wakeAt: new Date(now().getTime() + RETRY_BACKOFF_MS * failures), resetAttempts: false });
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
      ev('step_completed', step, { message_id: outcome.messageId });
      const { failures: _f, ...rest } = state;
      state = rest;
      position++;
      // The message and the step's completion commit together, or not at all.
      if (!(await commit({ status: 'processing', wakeAt: run.wake_at, keepLease: true }, outcome.write))) return;
      continue;
    }
    ev('step_skipped', step, { reason: `step type "${step.type}" is not supported yet` });
    position++;
  }
  ev('run_completed', null);
  await finish();
}
