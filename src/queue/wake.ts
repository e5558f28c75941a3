import type { Db } from '../store/db.js';

/** NOTIFY channel that wakes workers when runs become due; polling stays correct without it. */
export const RUNS_CHANNEL = 'herald_runs';

/**
 * Fewest milliseconds between two wake-ups sent by one process. Under a stream of triggers one
 * NOTIFY went out per group commit (~860/s at 8,500 triggers/s), each a round trip whose socket
 * write cost the API's one thread ~77 µs (CPU profile of the triggers bench, issue 12); at most
 * one per 5 ms is ≤ 200/s. A worker that is already busy keeps claiming without them; an idle
 * one is woken at most 5 ms later than it would have been, and only during such a stream.
 */
export const WAKE_MIN_INTERVAL_MS = 5;

/**
 * Returns a function that tells every worker (in any process) that runs became due. Calls are
 * coalesced: at most one NOTIFY in flight (NOTIFY takes a cluster-wide lock at commit, and one
 * per trigger would serialise every trigger behind it), and at most one per `minIntervalMs`. A
 * call while one is in flight, or within the interval after it, is never lost: one more NOTIFY
 * goes out when the interval has passed.
 */
export function createRunWaker(db: Db, onError: (err: unknown) => void, minIntervalMs = WAKE_MIN_INTERVAL_MS): () => void {
  /** A NOTIFY is in flight, or the interval after the last one has not passed. */
  let busy = false;
  let again = false;
  const send = () => {
    busy = true;
    again = false;
    const sentAt = performance.now();
    db.notify(RUNS_CHANNEL).catch(onError).finally(() => {
      const next = () => { if (again) send(); else busy = false; };
      const wait = minIntervalMs - (performance.now() - sentAt);
      if (wait > 0) setTimeout(next, wait).unref();
      else next();
    });
  };
  return () => {
    if (busy) again = true;
    else send();
  };
}
