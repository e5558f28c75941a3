/** NOTIFY channel that wakes workers when runs become due; polling stays correct without it. */
export const RUNS_CHANNEL = 'herald_runs';
