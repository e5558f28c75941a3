import type { EngineStore } from '../engine/ports.js';
import { entityMapKey } from '../engine/ports.js';
import type { Db } from './db.js';
import { findChannel } from './channels.js';
import { findChannelGroup, findEmailLayout } from './configured-channels.js';
import { liveTemplateContent } from './template-content.js';
import { getChannelData } from './channel-data.js';
import { checkpointRuns } from './checkpoint.js';
import { NEW_MESSAGES_CHANNEL } from './message-notify.js';
import { getEntities, getEntity } from './entities.js';
import { preferenceSetsWithDefault } from './environment-preferences.js';
import { claimIdempotencyKey, findIdempotencyRecord } from './idempotency.js';
import { cancelMatchingRuns, recordCancellation } from './runs.js';
import { writeTriggerGroup } from './trigger-writes.js';
import { getWorkflowHead, getWorkflowVersion } from './workflows.js';
import { cancelPendingFanouts, claimFanoutPage, commitFanoutPage, releaseFanoutPage } from './fanouts.js';
import { applyRunEffects } from './run-effects.js';
import { recordThrottleHit } from './throttles.js';
import { findWaitingRuns, wakeWaitingRuns } from './run-waits.js';
import { batchActivities, getBatch, joinBatch } from './batches.js';
import { runMessages } from './run-messages.js';
import { claimTriggerFrequency } from './trigger-frequency.js';
import { noMetrics, type Metrics } from '../metrics/port.js';
import { countCheckpoint, countWrittenTriggers } from '../metrics/checkpoint-counts.js';

/** Signals a rollback of the cancel transaction with the reason the caller gets back. */
class Abort extends Error {
  constructor(readonly outcome: 'idempotency_taken') { super(outcome); }
}

/**
 * Trigger groups written at once on PostgreSQL. Few: while they are written the next group
 * gathers, so the load turns into bigger groups (fewer commits) rather than more transactions
 * queueing on the WAL; the pool keeps connections for everything else.
 */
const TRIGGER_WRITERS = 4;

/** The engine's storage port implemented with the SQL modules of this folder. */
export function createEngineStore(db: Db, newId: () => string, metrics: Metrics = noMetrics, opts: { defaultLocale?: string } = {}): EngineStore {
  // Channel types by id, learnt from the engine's channel lookups, for the message counters.
  const channelTypes = new Map<string, string>();
  const channelType = (id: string) => channelTypes.get(id) ?? 'unknown';
  const committed = (outcomes: Parameters<EngineStore['checkpointRuns']>[1], ids: string[]) => {
    countCheckpoint(metrics, outcomes, ids, channelType);
    return ids;
  };
  return {
    workflowHead: (key) => getWorkflowHead(db, key),
    workflowVersion: (sha) => getWorkflowVersion(db, sha),
    entityExists: async (key) => (await getEntity(db, key)) !== null,
    async entityProperties(keys) {
      const rows = await getEntities(db, keys);
      return new Map(rows.map((r) => [entityMapKey(r), r.properties]));
    },
    async channelByKey(key) {
      const channel = await findChannel(db, key);
      if (channel) channelTypes.set(channel.id, channel.type);
      return channel;
    },
    channelGroup: (key) => findChannelGroup(db, key),
    emailLayout: (key) => findEmailLayout(db, key),
    templateContent: () => liveTemplateContent(db, opts.defaultLocale),
    async channelData(recipient, channelId) {
      return (await getChannelData(db, recipient, channelId))?.data ?? null;
    },
    async preferenceSets(keys) {
      const { rows, environmentDefault } = await preferenceSetsWithDefault(db, keys);
      const byEntity = new Map<string, Map<string, Record<string, unknown>>>();
      for (const row of rows) {
        const k = entityMapKey(row);
        if (!byEntity.has(k)) byEntity.set(k, new Map());
        byEntity.get(k)!.set(row.set_id, row.preferences);
      }
      return { byEntity, environmentDefault };
    },
    findIdempotencyRecord: (key, now) => findIdempotencyRecord(db, key, now),
    async writeTriggers(writes) {
      const results = await writeTriggerGroup(db, writes);
      countWrittenTriggers(metrics, writes, results);
      return results;
    },
    // PGlite has one connection: a second group would only queue behind the first.
    triggerWriters: db.engine === 'pglite' ? 1 : TRIGGER_WRITERS,
    async cancelRuns(match, now, cancelledEventData, idempotency) {
      try {
        return await db.transaction(async (tx) => {
          // Fan-outs first: this waits for a page in flight, so the runs it creates are cancelled below.
          await cancelPendingFanouts(tx, match, now);
          // The runs and their run_cancelled events in one statement (10,000 runs: one round trip).
          const cancelled = await cancelMatchingRuns(tx, match, now, cancelledEventData);
          await recordCancellation(tx, newId(), match, cancelled, now);
          if (idempotency && !(await claimIdempotencyKey(tx, idempotency.record(cancelled), now, idempotency.expiresAt))) throw new Abort('idempotency_taken');
          return cancelled;
        }).then((cancelled) => { metrics.runsCancelled(cancelled); return cancelled; });
      } catch (err) {
        if (err instanceof Abort && err.outcome === 'idempotency_taken') return err.outcome;
        throw err;
      }
    },
    async checkpointRuns(owner, outcomes, now) {
      const channel = db.channelName(NEW_MESSAGES_CHANNEL);
      // Effects (entity updates, child triggers) must commit with the step: one transaction then.
      if (!outcomes.some((o) => o.effects?.length)) return committed(outcomes, await checkpointRuns(db, owner, outcomes, now, channel));
      return committed(outcomes, await db.transaction(async (tx) => {
        const ids = await checkpointRuns(tx, owner, outcomes, now, channel);
        const done = new Set(ids);
        await applyRunEffects(tx, outcomes.filter((o) => done.has(o.runId)), now);
        return ids;
      }));
    },
    claimFanoutPage: (owner, pageSize, now, leaseUntil) => claimFanoutPage(db, owner, pageSize, now, leaseUntil),
    async commitFanoutPage(owner, page, runs, outcomes, now) {
      const ids = await commitFanoutPage(db, owner, page, runs, outcomes, now, db.channelName(NEW_MESSAGES_CHANNEL));
      if (ids !== null) committed(outcomes, ids);
      return ids;
    },
    async releaseFanoutPage(owner, page) {
      if (page.pageId !== null) await releaseFanoutPage(db, owner, page.pageId);
    },
    throttle: (hit) => recordThrottleHit(db, hit),
    waitingRuns: (query) => findWaitingRuns(db, query),
    wakeWaitingRuns: (runs, received, now) => wakeWaitingRuns(db, runs, received, now),
    joinBatch: (join) => joinBatch(db, join),
    getBatch: (id) => getBatch(db, id),
    batchActivities: (id, order, limit) => batchActivities(db, id, order, limit),
    runMessages: (runIds) => runMessages(db, runIds),
    claimTriggerFrequency: (claim) => claimTriggerFrequency(db, claim),
  };
}
