import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../domain/clock.js';
import type { RunRow } from '../domain/run.js';
import type { EngineStore } from './ports.js';
import { advanceBatch } from './advance-batch.js';
import { cancelRuns } from './cancel.js';
import { deliverWorkflowEvent } from './deliver-event.js';
import type { Engine } from './engine.js';
import { acceptTrigger } from './trigger.js';
import { createEngineCaches } from './caches.js';
import type { OutboundOptions } from '../net/outbound-http.js';

export interface RunningEngine extends Engine {
  /** Advances a batch of claimed runs; returns the ids whose outcome was committed. */
  advanceBatch(runs: RunRow[], leaseOwner: string): Promise<string[]>;
}

export function createEngine(base: {
  store: EngineStore; clock: Clock; logger: FastifyBaseLogger; wakeWorkers: () => void;
  /** http_fetch steps: SSRF allowance and timeout. */
  fetch?: OutboundOptions;
}): RunningEngine {
  // Caches belong to this engine instance: two Heralds in one process never share them.
  const deps = { ...base, caches: createEngineCaches() };
  return {
    trigger: (key, request, opts) => acceptTrigger(deps, key, request, opts),
    cancel: (key, request, opts) => cancelRuns(deps, key, request, opts),
    deliverEvent: (request) => deliverWorkflowEvent(deps, request),
    advanceBatch: (runs, owner) => advanceBatch(deps, runs, owner),
  };
}
