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
import { hasTraceContexts, tracer, type Span, type TraceContext } from '../telemetry/port.js';

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
  const plan = await planRuns(deps, runs);
  let committed: string[] = [];
  try {
    committed = await deps.store.checkpointRuns(owner, plan.outcomes, deps.clock.now());
    return committed;
  } finally {
    plan.settled(committed);
  }
}

/** What `planRuns` worked out: the outcomes to commit, and `settled` to call with the ids committed. */
export interface PlannedRuns {
  /** One per run whose planning succeeded (a failed one is left to its lease and retried). */
  outcomes: RunOutcome[];
  /** Ends the runs' trace spans (tracing on) with whether each was committed. */
  settled(committed: string[]): void;
}

/**
 * Plans a batch of runs in memory without writing anything: loads every recipient, actor,
 * tenant and preference set in one query per kind, then walks each run's program. The caller
 * commits the outcomes (the worker's checkpoint, or a fan-out page that creates its runs
 * already advanced: fanout-page.ts).
 */
export async function planRuns(deps: AdvanceDeps, runs: RunRow[]): Promise<PlannedRuns> {
  const keys: EntityKey[] = [];
  for (const run of runs) {
    keys.push({ collection: run.recipient_collection, id: run.recipient_id });
    if (run.actor) keys.push(run.actor);
    if (run.tenant_id) keys.push({ collection: TENANTS, id: run.tenant_id });
    if (run.state?.subscription) keys.push(run.state.subscription.object);
    for (const actor of run.state?.batch_result?.actors ?? []) keys.push(actor);
  }
  const [entities, preferenceSets, messageRefs, traceContexts] = await Promise.all([
    deps.store.entityProperties(keys),
    deps.store.preferenceSets(runs.map((r) => ({ collection: r.recipient_collection, id: r.recipient_id }))),
    loadMessageRefs(deps.store, deps.caches, runs),
    loadTraceContexts(deps, runs),
  ]);
  const spans = new Map<string, Span>();
  const lookup = (k: EntityKey) => entities.get(entityMapKey(k));

  // Runs of different recipients are planned concurrently: their renders then reach the render
  // processes together and travel in one message (render-pool.ts). One recipient's runs are
  // planned one after another in claim order, as they were triggered: a batch step joins them
  // to their batch in that order, which is the order of its activities.
  const planOne = async (run: RunRow): Promise<RunOutcome | null> => {
    if (!traceContexts) return planUntraced(run, deps);
    // Tracing on: the advance is a span under the trigger's stored context (a new trace when the
    // trigger had none), the planning runs inside it and its log lines carry the trace id (the
    // logger's mixin reads the active span: telemetry/port.ts traceLogOptions).
    const span = runSpan(run, traceContexts.get(run.workflow_run_id) ?? null);
    spans.set(run.id, span);
    const outcome = await span.within(() => planUntraced(run, deps));
    if (outcome) for (const e of outcome.events) span.addEvent(e.event, { 'herald.step_ref': e.step_ref, 'herald.step_type': e.step_type, 'herald.status': e.status }, e.inserted_at);
    else span.fail('planning the run failed');
    span.setAttributes({ 'herald.run.status': outcome?.status, 'herald.run.next_position': outcome?.position, 'herald.messages': outcome?.messages.length });
    return outcome;
  };
  const planUntraced = async (run: RunRow, deps: AdvanceDeps): Promise<RunOutcome | null> => {
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
  const outcomes = runs.map((run) => plannedById.get(run.id) ?? null).filter((o): o is RunOutcome => o !== null);
  return {
    outcomes,
    settled(committed) {
      if (spans.size === 0) return;
      const done = new Set(committed);
      for (const [id, span] of spans) {
        span.setAttributes({ 'herald.run.committed': done.has(id) });
        span.end();
      }
    },
  };
}

/** The stored trace context of each claimed run's trigger, in ONE query; null when tracing is off. */
async function loadTraceContexts(deps: AdvanceDeps, runs: RunRow[]): Promise<Map<string, TraceContext> | null> {
  if (!tracer().enabled || !hasTraceContexts(deps.store)) return null;
  try {
    return await deps.store.triggerTraceContexts(runs.map((r) => r.workflow_run_id));
  } catch (err) {
    // Tracing never stops a run: without the stored contexts the spans start new traces.
    deps.logger.warn({ err }, 'reading trace contexts failed');
    return new Map();
  }
}

export const RUN_SPAN_NAME = 'herald.run.advance';

function runSpan(run: RunRow, parent: TraceContext | null): Span {
  return tracer().startSpan(RUN_SPAN_NAME, {
    kind: 'consumer',
    parent,
    attributes: {
      'herald.run_id': run.id,
      'herald.workflow_run_id': run.workflow_run_id,
      'herald.workflow': run.workflow_key,
      'herald.recipient': `${run.recipient_collection}/${run.recipient_id}`,
      'herald.run.position': run.position,
      'herald.run.attempt': run.attempts,
    },
  });
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
