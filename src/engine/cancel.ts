import type { Clock } from '../domain/clock.js';
import { errors } from '../domain/errors.js';
import { toEntityKey } from '../domain/recipients.js';
import type { CancelMatch } from '../domain/run.js';
import { canonicalHash } from './canonical-hash.js';
import type { CancelOptions, CancelOutcome, CancelRequest } from './engine.js';
import type { EngineStore, IdempotencyRecord } from './ports.js';

const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;

/**
 * Cancellation is synchronous: matching unfinished runs are marked cancelled in the same
 * transaction that records the request, before the 204. Runs created later (a later trigger)
 * are untouched, unlike Knock's deferred cancel that can overtake a later trigger.
 *
 * With an Idempotency-Key the answer (the cancelled-runs count) is stored with the cancel, in
 * the same table and window as a trigger's, so a retry replays the first count instead of
 * answering 0 for runs the first attempt already cancelled.
 */
export async function cancelRuns(deps: { store: EngineStore; clock: Clock }, workflowKey: string, req: CancelRequest, opts: CancelOptions = {}): Promise<CancelOutcome> {
  const now = deps.clock.now();
  // `operation` keeps a cancel and a trigger under the same key from matching each other.
  const hash = opts.idempotencyKey ? canonicalHash({ operation: 'cancel', workflowKey, req }) : '';
  if (opts.idempotencyKey) {
    const existing = await deps.store.findIdempotencyRecord(opts.idempotencyKey, now);
    if (existing) return replay(existing, hash);
  }
  const match: CancelMatch = {
    workflowKey,
    cancellationKey: req.cancellation_key,
    recipients: req.recipients && req.recipients.length > 0 ? req.recipients.map(toEntityKey) : null,
  };
  const idempotency = opts.idempotencyKey
    ? {
      record: (cancelled: number): IdempotencyRecord => ({
        key: opts.idempotencyKey!, request_hash: hash, status_code: 204, response: { cancelled_runs: cancelled }, request_id: opts.requestId ?? null,
      }),
      expiresAt: new Date(now.getTime() + IDEMPOTENCY_WINDOW_MS),
    }
    : undefined;
  // Each cancelled run gets a run_cancelled event with this data, written with the cancel.
  const cancelled = await deps.store.cancelRuns(match, now, { cancellation_key: req.cancellation_key }, idempotency);
  if (cancelled === 'idempotency_taken') {
    // A concurrent duplicate committed first (and rolled this one back): answer what it answered.
    const winner = await deps.store.findIdempotencyRecord(opts.idempotencyKey!, now);
    if (!winner) throw errors.internal();
    return replay(winner, hash);
  }
  return { cancelled, replayed: false };
}

function replay(record: IdempotencyRecord, hash: string): CancelOutcome {
  if (record.request_hash !== hash) throw errors.idempotencyMismatch();
  const cancelled = Number((record.response as { cancelled_runs?: unknown } | null)?.cancelled_runs ?? 0);
  return { cancelled, replayed: true, originalRequestId: record.request_id ?? undefined };
}
