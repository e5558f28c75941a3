import { randomUUID } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import { toEntityKey } from '../domain/recipients.js';
import type { CancelMatch } from '../domain/run.js';
import type { CancelRequest } from './engine.js';
import type { EngineStore } from './ports.js';

/**
 * Cancellation is synchronous: matching unfinished runs are marked cancelled in the same
 * transaction that records the request, before the 204. Runs created later (a later trigger)
 * are untouched, unlike Knock's deferred cancel that can overtake a later trigger.
 */
export async function cancelRuns(deps: { store: EngineStore; clock: Clock }, workflowKey: string, req: CancelRequest): Promise<number> {
  const now = deps.clock.now();
  const match: CancelMatch = {
    workflowKey,
    cancellationKey: req.cancellation_key,
    recipients: req.recipients && req.recipients.length > 0 ? req.recipients.map(toEntityKey) : null,
  };
  const ids = await deps.store.cancelRuns(match, now, (runIds) => runIds.map((id) => ({
    id: randomUUID(),
    recipient_run_id: id,
    event: 'run_cancelled',
    data: { cancellation_key: req.cancellation_key },
    inserted_at: now,
  })));
  return ids.length;
}
