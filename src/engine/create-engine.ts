import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../domain/clock.js';
import type { RunRow } from '../domain/run.js';
import type { EngineStore, TriggerWrite } from './ports.js';
import { advanceBatch } from './advance-batch.js';
import { expandFanoutPages, type FanoutPageOutcome } from './fanout-page.js';
import { cancelRuns } from './cancel.js';
import { deliverWorkflowEvent } from './deliver-event.js';
import type { Engine } from './engine.js';
import { acceptTrigger } from './trigger.js';
import { groupCommit } from './trigger-group-commit.js';
import { createEngineCaches } from './caches.js';
import type { OutboundOptions } from '../net/outbound-http.js';
import type { EmailTracking } from '../tracking/port.js';

/** Most triggers per group: bounds one statement's JSON parameters and one transaction's locks. */
const TRIGGER_GROUP_MAX = 64;

export interface RunningEngine extends Engine {
  /** Advances a batch of claimed runs; returns the ids whose outcome was committed. */
  advanceBatch(runs: RunRow[], leaseOwner: string): Promise<string[]>;
  /** Expands up to `maxPages` pages of a pending fan-out (fanout-page.ts); null when none is pending. */
  expandFanoutPages(owner: string, pageSize: number, maxPages: number): Promise<FanoutPageOutcome | null>;
}

export function createEngine(base: {
  store: EngineStore; clock: Clock; logger: FastifyBaseLogger; wakeWorkers: () => void;
  /** http_fetch steps: SSRF allowance and timeout. */
  fetch?: OutboundOptions;
  /** Link and open tracking of email messages (src/tracking); absent = see `useEmailTracking`. */
  tracking?: EmailTracking;
}): RunningEngine {
  // Caches belong to this engine instance: two Heralds in one process never share them.
  // Concurrent triggers share a transaction: fewer commits (WAL flushes) and round trips per trigger.
  const writeTrigger = groupCommit((writes: TriggerWrite[]) => base.store.writeTriggers(writes), {
    maxItems: TRIGGER_GROUP_MAX,
    maxInFlight: base.store.triggerWriters,
    exclusiveKey: (w) => w.idempotency?.record.key,
  });
  const deps = { ...base, caches: createEngineCaches(), writeTrigger, tracking: base.tracking ?? null as EmailTracking | null };
  return {
    trigger: (key, request, opts) => acceptTrigger(deps, key, request, opts),
    cancel: (key, request, opts) => cancelRuns(deps, key, request, opts),
    deliverEvent: (request) => deliverWorkflowEvent(deps, request),
    advanceBatch: (runs, owner) => advanceBatch(deps, runs, owner),
    expandFanoutPages: (owner, pageSize, maxPages) => expandFanoutPages(deps, owner, pageSize, maxPages),
    useEmailTracking(tracking) {
      deps.tracking ??= tracking;
    },
  };
}
