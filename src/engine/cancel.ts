import { randomUUID } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import { toEntityKey } from '../domain/recipients.js';
import type { Db } from '../store/db.js';
import { cancelMatchingRuns, insertRunEvents, recordCancellation, type CancelMatch } from '../store/runs.js';
import type { CancelRequest } from './engine.js';

/**
 * Cancellation is synchronous: matching unfinished runs are marked cancelled in the same
 * transaction that records the request, before the 204. Runs created later (a later trigger)
 * are untouched, unlike Knock's deferred cancel that can overtake a later trigger.
 */
export async function cancelRuns(deps: { db: Db; clock: Clock }, workflowKey: string, req: CancelRequest): Promise<number> {
  const now = deps.clock.now();
  const match: CancelMatch = {
    workflowKey,
    cancellationKey: req.cancellation_key,
    recipients: req.recipients && req.recipients.length > 0 ? req.recipients.map(toEntityKey) : null,
  };
  return deps.db.transaction(async (tx) => {
    const ids = await cancelMatchingRuns(tx, match, now);
    await insertRunEvents(tx, ids.map((id) => ({
      id: randomUUID(),
      recipient_run_id: id,
      event: 'run_cancelled',
      data: { cancellation_key: req.cancellation_key },
      inserted_at: now,
    })));
    await recordCancellation(tx, randomUUID(), match, ids.length, now);
    return ids.length;
  });
}
