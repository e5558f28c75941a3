import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../domain/clock.js';
import { errors, HeraldError } from '../domain/errors.js';
import { TENANTS, USERS, toEntityKey, type EntityKey, type RecipientRequest } from '../domain/recipients.js';
import type { NewRun } from '../domain/run.js';
import { validateTriggerData } from '../domain/trigger-data-schema.js';
import { cachedDefinition, type EngineCaches } from './caches.js';
import { canonicalHash } from './canonical-hash.js';
import { checkTriggerSize } from './trigger-limits.js';
import { pausedStart } from './paused-start.js';
import { tracer } from '../telemetry/port.js';
import type { WorkflowDefinition } from '../domain/workflow.js';
import type { TriggerOptions, TriggerOutcome, TriggerRequest } from './engine.js';
import { entityMapKey, type EngineStore, type IdempotencyRecord, type TriggerWrite, type TriggerWriteResult } from './ports.js';

export interface TriggerDeps {
  store: EngineStore;
  clock: Clock;
  logger: FastifyBaseLogger;
  caches: EngineCaches;
  /** Tells the workers that runs became due (after commit); only shortens latency. */
  wakeWorkers: () => void;
  /**
   * Commits one trigger together with the concurrent ones (trigger-group-commit.ts); resolves
   * only after the group's commit.
   */
  writeTrigger: (write: TriggerWrite) => Promise<TriggerWriteResult>;
}

const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;

/**
 * Accepts a trigger: validates it, then commits inline identifications, the trigger row, one
 * run per distinct recipient and the idempotency record atomically (in one transaction shared
 * with concurrent triggers), and only then answers with the workflow_run_id; then the workers
 * are woken.
 */
export async function acceptTrigger(deps: TriggerDeps, workflowKey: string, req: TriggerRequest, opts: TriggerOptions, fresh = false): Promise<TriggerOutcome> {
  checkTriggerSize(req);
  const now = deps.clock.now();
  const hash = opts.idempotencyKey ? canonicalHash({ workflowKey, req }) : '';
  if (opts.idempotencyKey) {
    const existing = await deps.store.findIdempotencyRecord(opts.idempotencyKey, now);
    if (existing) return replay(existing, hash);
  }

  const sha = await activeHead(deps, workflowKey, fresh);
  const definition = await validateData(deps, sha, req.data ?? {});
  if (typeof req.actor === 'string' && !(await deps.store.entityExists({ collection: USERS, id: req.actor }))) throw errors.actorMissing(req.actor);

  const write = planTrigger(workflowKey, sha, req, opts, now);
  write.start = pausedStart(definition, write.state, now) ?? undefined;
  // The active span (the HTTP trigger's, or the run whose trigger_workflow step this is).
  write.traceContext = tracer().current();
  if (opts.idempotencyKey) {
    const record = { key: opts.idempotencyKey, request_hash: hash, status_code: 200, response: { workflow_run_id: write.trigger.id }, request_id: opts.requestId ?? null };
    write.idempotency = { record, expiresAt: new Date(now.getTime() + IDEMPOTENCY_WINDOW_MS) };
  }
  const result = await deps.writeTrigger(write);
  if (typeof result === 'object') throw result.error;
  if (result === 'stale_workflow') {
    // The workflow changed since the version hint was cached: decide again from the database.
    deps.caches.activeHeads.delete(workflowKey);
    if (fresh) throw new HeraldError(503, 'workflow_changing', `The workflow "${workflowKey}" changed during the trigger; retry.`, 'api_error');
    return acceptTrigger(deps, workflowKey, req, opts, true);
  }
  if (result === 'idempotency_taken') {
    // A concurrent request with the same key committed first: answer what it answered.
    const winner = await deps.store.findIdempotencyRecord(opts.idempotencyKey!, now);
    if (!winner) throw new HeraldError(500, 'internal_error', 'Idempotency record vanished during a concurrent request.', 'api_error');
    return replay(winner, hash);
  }
  if (write.runs.length > 0 || write.fanOut.length > 0) deps.wakeWorkers();
  return { status: 200, body: { workflow_run_id: write.trigger.id }, replayed: false };
}

/** The active version of a workflow, from the engine's hint cache (verified at write) or the store. */
async function activeHead(deps: TriggerDeps, key: string, fresh: boolean): Promise<string> {
  const hint = fresh ? undefined : deps.caches.activeHeads.get(key);
  if (hint) return hint;
  const head = await deps.store.workflowHead(key);
  if (!head) throw errors.workflowMissing(key);
  if (!head.active) throw errors.workflowInactive(key);
  deps.caches.activeHeads.set(key, head.sha);
  return head.sha;
}

/** The workflow version's definition, once the trigger data matches its schema. */
async function validateData(deps: TriggerDeps, sha: string, data: Record<string, unknown>): Promise<WorkflowDefinition> {
  const definition = await cachedDefinition(deps.store, deps.caches, sha);
  if (!definition) throw new HeraldError(500, 'internal_error', `Workflow version ${sha} is missing.`, 'api_error');
  const schema = definition.trigger_data_json_schema;
  if (!schema || typeof schema !== 'object') return definition;
  const fieldErrors = validateTriggerData(schema as object, data);
  if (fieldErrors.length > 0) throw errors.invalidParams('The trigger data does not match the workflow\'s trigger_data_json_schema.', fieldErrors);
  return definition;
}

/** Fields of an inline recipient that describe the trigger, not the entity. */
function inlineProperties(r: Exclude<RecipientRequest, string>): Record<string, unknown> {
  const { id: _id, collection: _c, $trigger_data: _t, ...props } = r;
  return props;
}

/**
 * The rows a trigger writes: one run per distinct recipient (first mention wins), the inline
 * entities, and the object recipients whose subscribers a fan-out job will reach.
 */
export function planTrigger(workflowKey: string, sha: string, req: TriggerRequest, opts: TriggerOptions, now: Date): TriggerWrite {
  const data = req.data ?? {};
  const seen = new Set<string>();
  const runs: NewRun[] = [];
  const identify: TriggerWrite['identify'] = [];
  const fanOut: EntityKey[] = [];
  for (const r of req.recipients) {
    const key = toEntityKey(r);
    if (seen.has(entityMapKey(key))) continue;
    seen.add(entityMapKey(key));
    if (key.collection !== USERS && opts.fanOut !== false) fanOut.push(key);
    const own = typeof r === 'object' && r.$trigger_data && typeof r.$trigger_data === 'object' ? (r.$trigger_data as Record<string, unknown>) : {};
    runs.push({ id: randomUUID(), recipient_collection: key.collection, recipient_id: key.id, data: { ...data, ...own } });
    if (typeof r === 'object') identify.push({ key, properties: inlineProperties(r) });
  }
  const actor = req.actor ?? null;
  const actorKey: EntityKey | null = actor === null ? null : toEntityKey(actor);
  if (actor && typeof actor === 'object' && actorKey) identify.push({ key: actorKey, properties: inlineProperties(actor) });
  const tenant = req.tenant ?? null;
  if (tenant && typeof tenant === 'object') {
    const { id: _id, ...properties } = tenant;
    identify.push({ key: { collection: TENANTS, id: tenant.id }, properties });
  }
  return {
    trigger: {
      id: randomUUID(),
      workflowKey,
      workflowSha: sha,
      actor: actorKey,
      tenantId: tenant === null ? null : typeof tenant === 'string' ? tenant : tenant.id,
      data,
      cancellationKey: req.cancellation_key ?? null,
      settings: req.settings ?? {},
      source: opts.source ?? null,
      now,
    },
    runs,
    fanOut,
    state: { settings: req.settings ?? {} },
    identify,
    now,
  };
}

function replay(record: IdempotencyRecord, hash: string): TriggerOutcome {
  if (record.request_hash !== hash) throw errors.idempotencyMismatch();
  return { status: record.status_code, body: record.response as TriggerOutcome['body'], replayed: true, originalRequestId: record.request_id ?? undefined };
}
