import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../domain/clock.js';
import { TENANTS, type EntityKey } from '../domain/recipients.js';
import type { RunOutcome, RunRow } from '../domain/run.js';
import { entityMapKey, type EngineStore } from './ports.js';
import { cachedDefinition, type EngineCaches } from './caches.js';
import { planRun } from './plan-run.js';
import { preferenceLayers } from './preference-layers.js';
import { buildRunScope } from './run-scope.js';
import { loadMessageRefs } from './message-refs.js';

export interface AdvanceDeps {
  store: EngineStore;
  clock: Clock;
  logger: FastifyBaseLogger;
  caches: EngineCaches;
}

/**
 * A run claimed this many times in a row without any of those claims committing an outcome
 * (its worker process died, or hung until its lease ran out, each time) is a poison run: the
 * next claim halts it instead of letting it take workers down for ever. Claims are counted when
 * they commit (store/runs.ts), so a crash counts; every committed outcome, a pause or a retry
 * included, resets the count, so no legitimate wait can ever reach it.
 */
export const POISON_RUN_MAX_UNFINISHED_CLAIMS = 5;

/**
 * Advances a batch of claimed runs with a constant number of statements: one query loads every
 * recipient, actor and tenant, each run is planned in memory, and one checkpoint statement
 * commits all outcomes. Returns the ids whose outcome was committed (the others were cancelled
 * or taken over meanwhile, and their outcome was discarded).
 */
export async function advanceBatch(deps: AdvanceDeps, runs: RunRow[], owner: string): Promise<string[]> {
  if (runs.length === 0) return [];
  const keys: EntityKey[] = [];
  for (const run of runs) {
    keys.push({ collection: run.recipient_collection, id: run.recipient_id });
    if (run.actor) keys.push(run.actor);
    if (run.tenant_id) keys.push({ collection: TENANTS, id: run.tenant_id });
    if (run.state?.subscription) keys.push(run.state.subscription.object);
    for (const actor of run.state?.batch_result?.actors ?? []) keys.push(actor);
  }
  const [entities, preferenceSets, messageRefs] = await Promise.all([
    deps.store.entityProperties(keys),
    deps.store.preferenceSets(runs.map((r) => ({ collection: r.recipient_collection, id: r.recipient_id }))),
    loadMessageRefs(deps.store, deps.caches, runs),
  ]);
  const lookup = (k: EntityKey) => entities.get(entityMapKey(k));

  // Runs of different recipients are planned concurrently: their renders then reach the render
  // processes together and travel in one message (render-pool.ts). One recipient's runs are
  // planned one after another in claim order, as they were triggered: a batch step joins them
  // to their batch in that order, which is the order of its activities.
  const planOne = async (run: RunRow): Promise<RunOutcome | null> => {
    try {
      const def = await cachedDefinition(deps.store, deps.caches, run.workflow_sha);
      // `attempts` includes this claim.
      if (!def || run.attempts > POISON_RUN_MAX_UNFINISHED_CLAIMS) {
        return haltedOutcome(run, deps.clock.now(), def
          ? `the run's worker stopped ${run.attempts - 1} times while advancing it (crashed or ran out of time); halted so it cannot stop workers again`
          : `workflow version ${run.workflow_sha} is missing`);
      }
      const scope = buildRunScope(run, def, lookup);
      if (messageRefs.has(run.id)) scope.refs = messageRefs.get(run.id);
      const layers = preferenceLayers(preferenceSets.byEntity.get(entityMapKey({ collection: run.recipient_collection, id: run.recipient_id })), run.tenant_id, scope.tenant, preferenceSets.environmentDefault);
      return await planRun(deps, run, def, scope, layers);
    } catch (err) {
      // Left claimed: the lease expires and the run is retried (and halted as a poison run after
      // POISON_RUN_MAX_UNFINISHED_CLAIMS).
      deps.logger.error({ err, run_id: run.id }, 'planning a run failed');
      return null;
    }
  };
  const byRecipient = new Map<string, RunRow[]>();
  for (const run of runs) {
    const key = entityMapKey({ collection: run.recipient_collection, id: run.recipient_id });
    const list = byRecipient.get(key);
    if (list) list.push(run);
    else byRecipient.set(key, [run]);
  }
  const plannedById = new Map<string, RunOutcome | null>();
  await Promise.all([...byRecipient.values()].map(async (list) => {
    for (const run of list) plannedById.set(run.id, await planOne(run));
  }));
  const planned = runs.map((run) => plannedById.get(run.id) ?? null);
  const outcomes = planned.filter((o): o is RunOutcome => o !== null);
  return deps.store.checkpointRuns(owner, outcomes, deps.clock.now());
}

function haltedOutcome(run: RunRow, now: Date, reason: string): RunOutcome {
  return {
    runId: run.id,
    status: 'completed',
    position: run.position,
    state: run.state,
    wakeAt: null,
    errorCount: run.error_count + 1,
    events: [{ id: randomUUID(), recipient_run_id: run.id, event: 'run_halted', status: 'error', data: { reason }, inserted_at: now }],
    messages: [],
  };
}
