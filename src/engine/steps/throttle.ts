import { addDuration, parseDuration, resolveDelayUntil } from '../../domain/duration.js';
import { resolveStepKey } from './step-key.js';
import type { StepHandler } from './types.js';

const MAX_WINDOW_MS = 31 * 86_400_000;

/**
 * `throttle` (§5.6): at most `throttle_limit` (default 1) executions per recipient (+ throttle
 * key) within a window opened by the first execution; over the limit the run halts. The count
 * lives in the database, so it holds across workers and concurrent triggers.
 */
export const throttleStep: StepHandler = async ({ deps, run, step, scope, now }) => {
  const settings = step.settings ?? {};
  let windowEnd: Date;
  if (settings.throttle_window != null) {
    const d = parseDuration(settings.throttle_window);
    if (!d || d.value <= 0) return { kind: 'skipped', reason: `throttle_window ${JSON.stringify(settings.throttle_window)} is not a valid duration`, error: true };
    windowEnd = addDuration(now, d);
  } else if (typeof settings.throttle_window_field_path === 'string') {
    const resolved = resolveDelayUntil({ delay_until_field_path: settings.throttle_window_field_path }, scope, now);
    if (!resolved.ok) return { kind: 'skipped', reason: resolved.reason, error: true };
    windowEnd = resolved.until;
  } else {
    return { kind: 'skipped', reason: 'the throttle step has no throttle_window or throttle_window_field_path', error: true };
  }
  const windowMs = windowEnd.getTime() - now.getTime();
  if (windowMs > MAX_WINDOW_MS) return { kind: 'skipped', reason: 'the throttle window exceeds 31 days', error: true };
  const limit = Number.isInteger(settings.throttle_limit) && settings.throttle_limit > 0 ? settings.throttle_limit as number : 1;
  const key = await resolveStepKey(settings.throttle_key, scope);
  if (key.length > 64) return { kind: 'skipped', reason: 'the throttle key is longer than 64 characters', error: true };
  const scopeKey = JSON.stringify([run.workflow_key, step.ref, run.recipient_collection, run.recipient_id, key]);
  const allowed = await deps.store.throttle({ scopeKey, runId: run.id, stepRef: step.ref, windowMs, limit, now });
  if (!allowed) return { kind: 'halted', reason: 'throttled', event: { throttle_key: key || null, limit } };
  return { kind: 'completed', event: { throttle_key: key || null, limit } };
};
