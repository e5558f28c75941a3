/**
 * Retention settings (how long Herald keeps each kind of row), read from the environment here
 * rather than in config.ts so the feature stays in one folder. Every age is a number of days
 * (fractions allowed); `0` or `off` keeps that kind forever. HERALD_RETENTION=off turns the
 * whole task off (e.g. when an external job prunes instead).
 */
export interface RetentionOptions {
  enabled: boolean;
  /** Finished runs (completed/cancelled), with their events; then triggers with no run left. ms, null = forever. */
  runsMs: number | null;
  /** Messages of every channel except in-app feeds, and archived feed messages (counted from archiving). */
  messagesMs: number | null;
  /** Unarchived in-app feed messages: they stay in the recipient's feed until this age. */
  feedMs: number | null;
  /** Finished bulk operations (completed/failed). */
  bulkOperationsMs: number | null;
  /** Workflow versions that are not current and that no trigger (hence no run) uses. */
  workflowVersionsMs: number | null;
  /** Idempotency records once their 24 h are over (false: keep them). */
  idempotency: boolean;
  /** Rate-limit windows older than this (ms; null = keep). */
  rateLimitWindowsMs: number | null;
  /**
   * Closed batches (flushed this long ago) with their members, once no message shows their
   * activities and no member run is still queued, processing or paused.
   */
  batchesMs: number | null;
  /** Throttle windows that closed this long ago (a closed window counts nothing any more). */
  throttleWindowsMs: number | null;
  /** Cancel requests recorded this long ago (a record only: nothing reads it back). */
  cancellationsMs: number | null;
  /** Finished schedules (no next occurrence), counted from their last firing or change. */
  schedulesMs: number | null;
  /** Rotated-out API keys whose grace period ended this long ago (kept meanwhile for `herald keys show`). */
  retiredKeysMs: number | null;
  /** Rows per delete statement. */
  batchSize: number;
  /** Delete statements per pass at most (over all kinds). */
  maxBatchesPerPass: number;
  /** Minimum time between two passes of one process. */
  intervalMs: number;
}

const DAY_MS = 86_400_000;

export const DEFAULT_RETENTION: RetentionOptions = {
  enabled: true,
  runsMs: 30 * DAY_MS,
  messagesMs: 90 * DAY_MS,
  feedMs: 365 * DAY_MS,
  bulkOperationsMs: 30 * DAY_MS,
  workflowVersionsMs: 30 * DAY_MS,
  idempotency: true,
  rateLimitWindowsMs: 60 * 60_000,
  batchesMs: 30 * DAY_MS,
  throttleWindowsMs: 60 * 60_000,
  cancellationsMs: 30 * DAY_MS,
  schedulesMs: 30 * DAY_MS,
  retiredKeysMs: 7 * DAY_MS,
  batchSize: 500,
  maxBatchesPerPass: 20,
  intervalMs: 15_000,
};

const OFF = new Set(['off', 'false', 'no', 'never', 'forever']);

function number(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  const text = env[name]?.trim();
  if (!text) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number ≥ ${min}, got "${text}"`);
  return n;
}

/** An age in days from `name`: absent = the default, `0`/`off` = keep forever (null). */
function age(env: NodeJS.ProcessEnv, name: string, unitMs: number, fallback: number | null): number | null {
  const text = env[name]?.trim().toLowerCase();
  if (!text) return fallback;
  if (OFF.has(text)) return null;
  const n = number(env, name, 0)!;
  return n === 0 ? null : n * unitMs;
}

export function retentionOptionsFromEnv(env: NodeJS.ProcessEnv): RetentionOptions {
  const d = DEFAULT_RETENTION;
  const enabled = !OFF.has((env.HERALD_RETENTION ?? 'on').trim().toLowerCase());
  const idempotencyText = env.HERALD_RETENTION_IDEMPOTENCY?.trim().toLowerCase();
  return {
    enabled,
    runsMs: age(env, 'HERALD_RETENTION_RUNS_DAYS', DAY_MS, d.runsMs),
    messagesMs: age(env, 'HERALD_RETENTION_MESSAGES_DAYS', DAY_MS, d.messagesMs),
    feedMs: age(env, 'HERALD_RETENTION_FEED_DAYS', DAY_MS, d.feedMs),
    bulkOperationsMs: age(env, 'HERALD_RETENTION_BULK_OPERATIONS_DAYS', DAY_MS, d.bulkOperationsMs),
    workflowVersionsMs: age(env, 'HERALD_RETENTION_WORKFLOW_VERSIONS_DAYS', DAY_MS, d.workflowVersionsMs),
    idempotency: idempotencyText ? !(OFF.has(idempotencyText) || idempotencyText === '0') : d.idempotency,
    rateLimitWindowsMs: age(env, 'HERALD_RETENTION_RATE_LIMITS_MINUTES', 60_000, d.rateLimitWindowsMs),
    batchesMs: age(env, 'HERALD_RETENTION_BATCHES_DAYS', DAY_MS, d.batchesMs),
    throttleWindowsMs: age(env, 'HERALD_RETENTION_THROTTLE_WINDOWS_MINUTES', 60_000, d.throttleWindowsMs),
    cancellationsMs: age(env, 'HERALD_RETENTION_CANCELLATIONS_DAYS', DAY_MS, d.cancellationsMs),
    schedulesMs: age(env, 'HERALD_RETENTION_SCHEDULES_DAYS', DAY_MS, d.schedulesMs),
    retiredKeysMs: age(env, 'HERALD_RETENTION_RETIRED_KEYS_DAYS', DAY_MS, d.retiredKeysMs),
    // Counts of rows and statements: whole numbers (a LIMIT takes no fraction).
    batchSize: Math.floor(number(env, 'HERALD_RETENTION_BATCH_SIZE', 1) ?? d.batchSize),
    maxBatchesPerPass: Math.floor(number(env, 'HERALD_RETENTION_MAX_BATCHES', 1) ?? d.maxBatchesPerPass),
    intervalMs: (number(env, 'HERALD_RETENTION_INTERVAL_SECONDS', 0) ?? d.intervalMs / 1000) * 1000,
  };
}

/** Options given to createHerald: any field left out takes its default. */
export function withRetentionDefaults(partial: Partial<RetentionOptions>): RetentionOptions {
  return { ...DEFAULT_RETENTION, ...partial };
}
