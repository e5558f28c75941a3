import type { Db } from '../store/db.js';

/** NOTIFY channel that wakes workers when runs become due; polling stays correct without it. */
export const RUNS_CHANNEL = 'herald_runs';

/**
 * Returns a function that tells every worker (in any process) that runs became due. Calls are
 * coalesced into at most one NOTIFY in flight: NOTIFY takes a cluster-wide lock at commit, and
 * one per trigger would serialise every trigger behind it.
 */
export function createRunWaker(db: Db, onError: (err: unknown) => void): () => void {
  let inFlight = false;
  let again = false;
  const send = () => {
    inFlight = true;
    again = false;
    db.notify(RUNS_CHANNEL).catch(onError).finally(() => {
      inFlight = false;
      if (again) send();
    });
  };
  return () => {
    if (inFlight) again = true;
    else send();
  };
}
