import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../domain/clock.js';
import type { Db } from '../store/db.js';
import {
  listChannelKinds, pruneArchivedMessages, pruneBulkOperations, pruneCancellations, pruneChannelMessages, pruneClosedBatches,
  pruneFinishedRuns, pruneFinishedSchedules, pruneIdempotencyKeys, pruneOrphanTriggers, pruneRateLimitWindows,
  pruneRetiredKeys, pruneThrottleWindows, pruneWorkflowVersions, type BatchCursor,
} from '../store/retention.js';
import type { RetentionOptions } from '../retention/config.js';
import type { BackgroundTask } from './background-worker.js';

export interface RetentionTaskDeps {
  db: Db;
  clock: Clock;
  logger: FastifyBaseLogger;
  options: RetentionOptions;
}

/** One kind of row to prune: a batch delete given the pass's time and the batch size. */
interface Step {
  kind: string;
  /** Rows deleted, and whether another batch of this kind may find more in this pass. */
  batch(now: Date, limit: number): Promise<{ deleted: number; more: boolean }>;
}

const before = (now: Date, ms: number) => new Date(now.getTime() - ms);

/** A kind that deletes the oldest rows first: a short batch means it is done for now. */
const oldestFirst = (kind: string, prune: (now: Date, limit: number) => Promise<number>): Step => ({
  kind,
  async batch(now, limit) {
    const deleted = await prune(now, limit);
    return { deleted, more: deleted >= limit };
  },
});

/**
 * Data retention as a background task: a pass deletes, kind after kind, batches of rows past
 * their age (store/retention.ts), at most `maxBatchesPerPass` statements, and passes are at least
 * `intervalMs` apart (by the injected clock), so pruning takes a bounded share of the loop and
 * of the database however large the backlog is; a backlog is worked off over several passes.
 * Runs go before triggers (a trigger goes once its runs are gone) and triggers before versions.
 * Closed batches go last: their sweep may walk past batches it must keep (a feed message still
 * shows them), and the budget left after the other kinds bounds that walk.
 */
export function createRetentionTask(deps: RetentionTaskDeps): BackgroundTask {
  const o = deps.options;
  const db = deps.db;
  // The first pass waits one interval: starting a process does not start with a delete burst.
  let lastPass = deps.clock.now().getTime();
  const steps: Step[] = [];
  const { runsMs, messagesMs, feedMs, bulkOperationsMs, workflowVersionsMs, rateLimitWindowsMs } = o;
  const { batchesMs, throttleWindowsMs, cancellationsMs, schedulesMs, retiredKeysMs } = o;
  if (runsMs !== null) {
    steps.push(oldestFirst('runs', (now, n) => pruneFinishedRuns(db, before(now, runsMs), n)));
    steps.push(oldestFirst('triggers', (now, n) => pruneOrphanTriggers(db, before(now, runsMs), n)));
  }
  if (messagesMs !== null || feedMs !== null) {
    steps.push(oldestFirst('messages', (now, n) => pruneMessages(db, now, n, messagesMs, feedMs)));
  }
  if (bulkOperationsMs !== null) steps.push(oldestFirst('bulk_operations', (now, n) => pruneBulkOperations(db, before(now, bulkOperationsMs), n)));
  if (o.idempotency) steps.push(oldestFirst('idempotency_keys', (now, n) => pruneIdempotencyKeys(db, now, n)));
  if (rateLimitWindowsMs !== null) steps.push(oldestFirst('rate_limits', (now, n) => pruneRateLimitWindows(db, before(now, rateLimitWindowsMs), n)));
  if (throttleWindowsMs !== null) steps.push(oldestFirst('throttle_windows', (now, n) => pruneThrottleWindows(db, before(now, throttleWindowsMs), n)));
  if (cancellationsMs !== null) steps.push(oldestFirst('cancellations', (now, n) => pruneCancellations(db, before(now, cancellationsMs), n)));
  if (schedulesMs !== null) steps.push(oldestFirst('schedules', (now, n) => pruneFinishedSchedules(db, before(now, schedulesMs), n)));
  if (retiredKeysMs !== null) steps.push(oldestFirst('retired_api_keys', (now, n) => pruneRetiredKeys(db, before(now, retiredKeysMs), n)));
  if (workflowVersionsMs !== null) steps.push(oldestFirst('workflow_versions', (now, n) => pruneWorkflowVersions(db, before(now, workflowVersionsMs), n)));
  if (batchesMs !== null) steps.push(closedBatches(db, batchesMs));

  return {
    name: 'retention',
    async tick() {
      if (!o.enabled || steps.length === 0) return 0;
      const now = deps.clock.now();
      if (now.getTime() - lastPass < o.intervalMs) return 0;
      lastPass = now.getTime();
      let budget = o.maxBatchesPerPass;
      const deleted: Record<string, number> = {};
      let total = 0;
      for (const step of steps) {
        // A kind gets batches while it may find more (most: while it fills them).
        while (budget > 0) {
          budget--;
          let r: { deleted: number; more: boolean };
          try {
            r = await step.batch(now, o.batchSize);
          } catch (err) {
            // One kind failing (a lock timeout, a lost connection) does not hold the others back.
            deps.logger.warn({ err, kind: step.kind }, 'retention: a batch failed; the next pass retries it');
            break;
          }
          if (r.deleted > 0) deleted[step.kind] = (deleted[step.kind] ?? 0) + r.deleted;
          total += r.deleted;
          if (!r.more) break;
        }
        if (budget === 0) break;
      }
      if (total > 0) deps.logger.info({ deleted, budgetLeft: budget }, 'retention: deleted rows past their age');
      return total;
    },
  };
}

/**
 * One batch of messages: per channel, the oldest past its age. Feed channels: unarchived
 * messages at the feed's age, archived ones at the messages' age counted from archiving; other
 * channels at the messages' age. Stops at the first channel that fills the batch.
 */
async function pruneMessages(db: Db, now: Date, limit: number, messagesMs: number | null, feedMs: number | null): Promise<number> {
  let done = 0;
  for (const channel of await listChannelKinds(db)) {
    if (channel.feed) {
      if (feedMs !== null) done += await pruneChannelMessages(db, channel.id, before(now, feedMs), limit - done);
      if (messagesMs !== null && done < limit) done += await pruneArchivedMessages(db, channel.id, before(now, messagesMs), limit - done);
    } else if (messagesMs !== null) {
      done += await pruneChannelMessages(db, channel.id, before(now, messagesMs), limit - done);
    }
    if (done >= limit) break;
  }
  return done;
}

/**
 * Closed batches: a sweep in flush order that goes on from where the last window stopped
 * (store/retention.ts pruneClosedBatches), in this process's memory. Batches it passed over
 * because a message or a running run still needs them are looked at again on the next sweep,
 * which starts once this one has reached the end. Several processes sweep independently; SKIP
 * LOCKED keeps them from deleting a batch twice.
 */
function closedBatches(db: Db, ageMs: number): Step {
  let cursor: BatchCursor | null = null;
  return {
    kind: 'batches',
    async batch(now, limit) {
      const r = await pruneClosedBatches(db, before(now, ageMs), cursor, limit);
      cursor = r.next;
      // Windows of kept batches delete nothing but move the sweep on: go on until the end.
      return { deleted: r.deleted, more: r.next !== null };
    },
  };
}
