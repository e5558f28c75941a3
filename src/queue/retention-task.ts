import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../domain/clock.js';
import type { Db } from '../store/db.js';
import {
  listChannelKinds, pruneArchivedMessages, pruneBulkOperations, pruneChannelMessages, pruneFinishedRuns,
  pruneIdempotencyKeys, pruneOrphanTriggers, pruneRateLimitWindows, pruneWorkflowVersions,
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
  batch(now: Date, limit: number): Promise<number>;
}

const before = (now: Date, ms: number) => new Date(now.getTime() - ms);

/**
 * Data retention as a background task: a pass deletes, kind after kind, batches of rows past
 * their age (store/retention.ts), at most `maxBatchesPerPass` statements, and passes are at least
 * `intervalMs` apart (by the injected clock), so pruning takes a bounded share of the loop and
 * of the database however large the backlog is; a backlog is worked off over several passes.
 * Runs go before triggers (a trigger goes once its runs are gone) and triggers before versions.
 */
export function createRetentionTask(deps: RetentionTaskDeps): BackgroundTask {
  const o = deps.options;
  const db = deps.db;
  // The first pass waits one interval: starting a process does not start with a delete burst.
  let lastPass = deps.clock.now().getTime();
  const steps: Step[] = [];
  const { runsMs, messagesMs, feedMs, bulkOperationsMs, workflowVersionsMs, rateLimitWindowsMs } = o;
  if (runsMs !== null) {
    steps.push({ kind: 'runs', batch: (now, n) => pruneFinishedRuns(db, before(now, runsMs), n) });
    steps.push({ kind: 'triggers', batch: (now, n) => pruneOrphanTriggers(db, before(now, runsMs), n) });
  }
  if (messagesMs !== null || feedMs !== null) {
    steps.push({ kind: 'messages', batch: (now, n) => pruneMessages(db, now, n, messagesMs, feedMs) });
  }
  if (bulkOperationsMs !== null) steps.push({ kind: 'bulk_operations', batch: (now, n) => pruneBulkOperations(db, before(now, bulkOperationsMs), n) });
  if (o.idempotency) steps.push({ kind: 'idempotency_keys', batch: (now, n) => pruneIdempotencyKeys(db, now, n) });
  if (rateLimitWindowsMs !== null) steps.push({ kind: 'rate_limits', batch: (now, n) => pruneRateLimitWindows(db, before(now, rateLimitWindowsMs), n) });
  if (workflowVersionsMs !== null) steps.push({ kind: 'workflow_versions', batch: (now, n) => pruneWorkflowVersions(db, before(now, workflowVersionsMs), n) });

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
        // A kind gets batches while it fills them; a short batch means it is done for now.
        while (budget > 0) {
          budget--;
          let n: number;
          try {
            n = await step.batch(now, o.batchSize);
          } catch (err) {
            // One kind failing (a lock timeout, a lost connection) does not hold the others back.
            deps.logger.warn({ err, kind: step.kind }, 'retention: a batch failed; the next pass retries it');
            break;
          }
          if (n > 0) deleted[step.kind] = (deleted[step.kind] ?? 0) + n;
          total += n;
          if (n < o.batchSize) break;
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
