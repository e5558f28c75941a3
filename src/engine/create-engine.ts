import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../domain/clock.js';
import type { Db } from '../store/db.js';
import type { RunRow } from '../store/runs.js';
import { advanceRun } from './advance-run.js';
import { cancelRuns } from './cancel.js';
import type { Engine } from './engine.js';
import { acceptTrigger } from './trigger.js';
import { createEngineCaches } from './caches.js';

export interface RunningEngine extends Engine {
  /** Advances one claimed run; the worker calls this for each run it claims. */
  advance(run: RunRow, leaseOwner: string): Promise<void>;
}

export function createEngine(base: { db: Db; clock: Clock; logger: FastifyBaseLogger }): RunningEngine {
  // Caches belong to this engine instance: two Heralds in one process never share them.
  const deps = { ...base, caches: createEngineCaches() };
  return {
    trigger: (key, request, opts) => acceptTrigger(deps, key, request, opts),
    cancel: (key, request) => cancelRuns(deps, key, request),
    advance: (run, owner) => advanceRun(deps, run, owner),
  };
}
