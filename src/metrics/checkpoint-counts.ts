import type { RunOutcome } from '../domain/run.js';
import type { CountedRunEvent, Metrics } from './port.js';

/**
 * Counts what a checkpoint committed: the events (runs started/completed/halted, steps, delay
 * lateness) and the messages of the runs it committed. Outcomes whose run was cancelled or
 * taken over meanwhile wrote nothing, so they count nothing.
 */
export function countCheckpoint(metrics: Metrics, outcomes: readonly RunOutcome[], committed: readonly string[], channelType: (channelId: string) => string): void {
  if (committed.length === 0) return;
  const done = new Set(committed);
  for (const o of outcomes) {
    if (!done.has(o.runId)) continue;
    metrics.runEvents(o.events);
    for (const m of o.messages) metrics.message(channelType(m.channelId), m.status);
  }
}

/**
 * Counts the runs a trigger group wrote already started: runs that start paused on their first
 * delay carry that advance's events (run_started, the delay's step_started) in `start`, written
 * with the trigger, so no checkpoint ever reports them. Read structurally: older writes have no
 * `start`.
 */
export function countWrittenTriggers(metrics: Metrics, writes: readonly object[], results: readonly unknown[]): void {
  writes.forEach((write, i) => {
    const start = (write as { start?: { events?: CountedRunEvent[] } }).start;
    const runs = (write as { runs?: unknown[] }).runs ?? [];
    if (results[i] !== 'written' || !start?.events) return;
    for (let r = 0; r < runs.length; r++) metrics.runEvents(start.events);
  });
}
