import { addDuration, parseDuration, resolveDelayUntil } from '../../domain/duration.js';
import type { BatchResult } from '../../domain/run.js';
import { entityMapKey } from '../ports.js';
import { applyBatchResult } from '../run-scope.js';
import { resolveStepKey } from './step-key.js';
import type { StepContext, StepHandler, StepResult } from './types.js';

const DEFAULT_RENDER_LIMIT = 10;
const MAX_RENDER_LIMIT = 100;
const MAX_STRING = 256;

/**
 * A run that wakes after its batch's window ended but before the flush closed it re-checks after
 * these delays, doubling up to the cap. The flush itself wakes the run that carries the batch on
 * and ends the others; the re-check only covers a flush that raced with this run's claim, so it
 * backs off instead of spinning (each spin was a claim, and a busy flush used to see the run
 * halted as a poison run).
 */
const FLUSH_RECHECK_FIRST_MS = 250;
const FLUSH_RECHECK_MAX_MS = 15_000;
/**
 * A member run sleeps this long past its window's end: the flush (on time, in the timer loop)
 * wakes the run that carries the batch on and ends the others, so members that woke at the
 * window's end would only find the batch still open and queue up 1,000 re-checks behind 1,000
 * windows closing together. Only a member whose pause committed after the flush needs to wake
 * by itself, and it waits at most this long.
 */
const FLUSH_GRACE_MS = 2_000;
const afterFlush = (closesAt: Date) => new Date(closesAt.getTime() + FLUSH_GRACE_MS);

/**
 * Knock's batch step (§5.4). Every run that reaches it joins the open batch for (recipient,
 * tenant, batch key) — one row per key, created atomically — and pauses; the batch-flush task
 * closes the batch exactly once when its window ends (or `batch_items_max_limit` is reached)
 * and picks the member run that carries it on. Each member run then settles itself against
 * the closed batch: the chosen one continues with the batch variables, the others end there.
 * In `flush_leading` mode the run that opens the batch goes on at once as a batch of one.
 */
export const batchStep: StepHandler = async (ctx) => {
  const waiting = ctx.state.batch && ctx.state.batch.step_ref === ctx.step.ref ? ctx.state.batch : null;
  return waiting ? settle(ctx, waiting.batch_id, waiting.rechecks ?? 0) : join(ctx);
};

async function join(ctx: StepContext): Promise<StepResult> {
  const { deps, run, step, scope, now } = ctx;
  const s = step.settings ?? {};
  let closesAt: Date;
  if (s.batch_window != null) {
    const d = parseDuration(s.batch_window);
    if (!d || d.value <= 0) return { kind: 'skipped', reason: `batch_window ${JSON.stringify(s.batch_window)} is not a valid duration`, error: true };
    closesAt = addDuration(now, d);
  } else if (typeof s.batch_until_field_path === 'string') {
    const resolved = resolveDelayUntil({ delay_until_field_path: s.batch_until_field_path }, scope, now);
    if (!resolved.ok) return { kind: 'skipped', reason: resolved.reason, error: true };
    closesAt = resolved.until;
  } else {
    return { kind: 'skipped', reason: 'the batch step has no batch_window or batch_until_field_path', error: true };
  }
  const sliding = s.batch_window_type === 'sliding';
  const limit = s.batch_window_extension_limit != null ? parseDuration(s.batch_window_extension_limit) : null;
  const maxItems = Number.isInteger(s.batch_items_max_limit) ? Math.min(1000, Math.max(2, s.batch_items_max_limit as number)) : null;
  const mode = s.batch_execution_mode === 'flush_leading' ? 'flush_leading' : 'accumulate';
  const membership = await deps.store.joinBatch({
    runId: run.id,
    stepRef: step.ref,
    workflowKey: run.workflow_key,
    recipient: { collection: run.recipient_collection, id: run.recipient_id },
    tenantKey: run.tenant_id ?? '',
    batchKey: await resolveStepKey(s.batch_key, scope),
    actor: run.actor,
    data: run.data ?? {},
    now,
    closesAt,
    windowType: sliding ? 'sliding' : 'fixed',
    windowMs: sliding ? closesAt.getTime() - now.getTime() : null,
    extensionLimitAt: sliding && limit ? addDuration(now, limit) : null,
    maxItems,
    executionMode: mode,
  });
  if (membership.leading) {
    // The leading item goes on alone (total_activities = 1 tells a template it is the leader).
    const result: BatchResult = {
      batch_id: null,
      total_activities: 1,
      total_actors: run.actor ? 1 : 0,
      actors: run.actor ? [run.actor] : [],
      activities: [{ id: run.id, actor: run.actor, data: run.data ?? {}, inserted_at: now.toISOString() }],
    };
    return finish(ctx, result, undefined, { batch_id: membership.batchId, leading: true });
  }
  const until = membership.closesAt > now ? membership.closesAt : now;
  return {
    kind: 'paused',
    until: afterFlush(until),
    retry: true,
    state: { batch: { batch_id: membership.batchId, step_ref: step.ref } },
    event: { batch_id: membership.batchId, closes_at: until.toISOString() },
  };
}

async function settle(ctx: StepContext, batchId: string, rechecks: number): Promise<StepResult> {
  const { deps, run, step, now } = ctx;
  const batch = await deps.store.getBatch(batchId);
  if (!batch) return { kind: 'halted', reason: `batch ${batchId} no longer exists`, error: true };
  if (batch.status !== 'closed') {
    // Woken early (or the sliding window moved): wait for the window to end.
    if (batch.closes_at > now) return { kind: 'paused', until: afterFlush(batch.closes_at), retry: true, state: { batch: { batch_id: batchId, step_ref: step.ref } } };
    // The window has ended and the flush has not closed the batch yet: wait for it, backing off.
    const delay = Math.min(FLUSH_RECHECK_MAX_MS, FLUSH_RECHECK_FIRST_MS * 2 ** Math.min(rechecks, 16));
    return { kind: 'paused', until: new Date(now.getTime() + delay), retry: true, state: { batch: { batch_id: batchId, step_ref: step.ref, rechecks: rechecks + 1 } } };
  }
  if (batch.continued_run_id !== run.id) {
    return { kind: 'halted', reason: 'batched: another run of the batch carries it on', event: { batch_id: batchId, continued_in: batch.continued_run_id }, state: { batch: undefined } };
  }
  const s = step.settings ?? {};
  const renderLimit = Number.isInteger(s.batch_items_render_limit) ? Math.min(MAX_RENDER_LIMIT, Math.max(1, s.batch_items_render_limit as number)) : DEFAULT_RENDER_LIMIT;
  const contents = await deps.store.batchActivities(batchId, s.batch_order === 'desc' ? 'desc' : 'asc', renderLimit);
  const result: BatchResult = {
    batch_id: batchId,
    total_activities: contents.total,
    total_actors: contents.actors.length,
    actors: contents.actors.slice(0, renderLimit),
    activities: contents.activities.map((a) => ({ id: a.recipient_run_id, actor: a.actor, data: a.data, inserted_at: new Date(a.inserted_at).toISOString() })),
  };
  return finish(ctx, result, flattenMerged(contents.mergedData), { batch_id: batchId });
}

/** Completes the step with the batch variables in scope (and in state, for steps after a pause). */
async function finish(ctx: StepContext, result: BatchResult, data: Record<string, unknown> | undefined, event: Record<string, unknown>): Promise<StepResult> {
  const keys = [...result.actors, ...result.activities.flatMap((a) => (a.actor ? [a.actor] : []))];
  const entities = keys.length > 0 ? await ctx.deps.store.entityProperties(keys) : new Map();
  applyBatchResult(ctx.scope, result, (k) => entities.get(entityMapKey(k)));
  return {
    kind: 'completed',
    ...(data ? { data } : {}),
    state: { batch: undefined, batch_result: result },
    event: { ...event, total_activities: result.total_activities, total_actors: result.total_actors },
  };
}

/**
 * Knock's data after a batch: every activity's data merged in arrival order (the latest wins),
 * keeping only scalars, with strings cut to 256 characters.
 */
export function flattenMerged(datas: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const data of datas) {
    for (const [k, v] of Object.entries(data ?? {})) {
      if (v === null || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
      else if (typeof v === 'string') out[k] = v.length > MAX_STRING ? v.slice(0, MAX_STRING) : v;
    }
  }
  return out;
}
