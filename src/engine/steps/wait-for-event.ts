import { evaluateConditionGroup, type ConditionScope } from '../../domain/conditions.js';
import type { ConditionGroup } from '../../domain/condition-types.js';
import { addDuration, parseDuration } from '../../domain/duration.js';
import type { StepHandler, StepResult } from './types.js';

/**
 * `wait_for_event` (knock-api.md §5.9): the run pauses until a matching event is delivered
 * (`POST /v1/workflow_events`, a Herald extension) or `expires_after` passes, then applies
 * `on_match` / `on_timeout` (`continue`, the default, or `halt`).
 *
 * The wait is the run's own state (`state.event_wait`), committed by the checkpoint together
 * with the pause, and indexed for the event lookup (migrations/010). A matching event records
 * itself in that state and makes the run due at once; the step then runs again and sees it.
 * The event's `data` is shallow-merged into the run's data, exactly as a fetch response is.
 * The event and the expiry cannot both win: delivery only matches runs that are still paused
 * and not yet expired, under the row lock, and a worker claims a run only once.
 */
export const waitForEventStep: StepHandler = async ({ step, scope, state, now }) => {
  const settings = step.settings ?? {};
  const wait = state.event_wait?.step_ref === step.ref ? state.event_wait : undefined;
  if (!wait) {
    if (typeof settings.event !== 'string' || settings.event.trim() === '') return { kind: 'skipped', reason: 'the wait_for_event step has no event name', error: true };
    const expiresAfter = parseDuration(settings.expires_after);
    if (!expiresAfter || expiresAfter.value <= 0) return { kind: 'skipped', reason: `expires_after ${JSON.stringify(settings.expires_after ?? null)} is not a valid duration`, error: true };
    const until = addDuration(now, expiresAfter);
    const event = settings.event.trim();
    return {
      kind: 'paused',
      until,
      retry: true,
      state: { event_wait: { step_ref: step.ref, event, expires_at: until.toISOString(), match_conditions: settings.match_conditions ?? null } },
      event: { waiting_for: event, expires_at: until.toISOString() },
    };
  }

  const done = { event_wait: undefined };
  if (wait.matched) {
    const event = { event: wait.event, matched_at: wait.matched.received_at, event_data: wait.matched.data };
    if (settings.on_match === 'halt') return { kind: 'halted', reason: `event "${wait.event}" received (on_match: halt)`, event };
    return { kind: 'completed', data: { ...scope.data, ...wait.matched.data }, state: done, event };
  }
  if (now.getTime() >= Date.parse(wait.expires_at)) {
    const event = { event: wait.event, expired_at: wait.expires_at };
    if (settings.on_timeout === 'halt') return { kind: 'halted', reason: `no "${wait.event}" event arrived before ${wait.expires_at} (on_timeout: halt)`, event };
    return { kind: 'completed', state: done, event: { ...event, timed_out: true } };
  }
  // Woken early (a worker's lease ran out): keep waiting until the expiry.
  return { kind: 'paused', until: new Date(wait.expires_at), retry: true } satisfies StepResult;
};

/**
 * Knock's `match_conditions`: `[{operator: "and" | "or", conditions: [...]}]`. A run matches
 * when there are no groups or ANY group holds (conditions editor groups are alternatives);
 * within a group, `and` (the default) needs every condition and `or` any one. A plain
 * ConditionGroup (`{all}` / `{any}`) is accepted too.
 *
 * In the conditions, `data.*` is the EVENT's data; `recipient`, `actor`, `tenant`, `vars` and
 * `workflow` are the waiting run's.
 */
export function eventMatches(matchConditions: unknown, scope: ConditionScope, now: Date): boolean {
  if (matchConditions == null) return true;
  if (!Array.isArray(matchConditions)) return evaluateConditionGroup(matchConditions as ConditionGroup, scope, now);
  if (matchConditions.length === 0) return true;
  return matchConditions.some((group) => {
    if (group === null || typeof group !== 'object') return false;
    const { operator, conditions } = group as { operator?: unknown; conditions?: unknown };
    if (!Array.isArray(conditions)) return evaluateConditionGroup(group as ConditionGroup, scope, now);
    const node = operator === 'or' ? { any: conditions } : { all: conditions };
    return evaluateConditionGroup(node as ConditionGroup, scope, now);
  });
}
