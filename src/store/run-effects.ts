import type { RunEffect, RunOutcome } from '../domain/run.js';
import type { Queryable } from './db.js';
import { upsertEntity } from './entities.js';
import { insertTriggerWithRuns } from './trigger-writes.js';

/**
 * Applies the writes steps asked for (update_user/tenant/object, trigger_workflow) for the runs
 * whose checkpoint committed, in the checkpoint's transaction: a step's effect exists exactly
 * when its completion does.
 */
export async function applyRunEffects(q: Queryable, committed: RunOutcome[], now: Date): Promise<{ triggered: number }> {
  let triggered = 0;
  for (const outcome of committed) {
    for (const effect of outcome.effects ?? []) triggered += await apply(q, effect, now);
  }
  return { triggered };
}

async function apply(q: Queryable, effect: RunEffect, now: Date): Promise<number> {
  if (effect.type === 'merge_entity') {
    await upsertEntity(q, effect.key, effect.properties, now);
    return 0;
  }
  // A child whose workflow was deactivated since the step looked is simply not started.
  const written = await insertTriggerWithRuns(q, effect.trigger, effect.runs, effect.state, effect.fanOut, effect.traceContext ?? null);
  return written ? 1 : 0;
}
