import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../domain/clock.js';
import { errors, HeraldError } from '../domain/errors.js';
import { TENANTS, USERS, toEntityKey, type EntityKey, type RecipientRequest } from '../domain/recipients.js';
import { validateTriggerData } from '../domain/trigger-data-schema.js';
import type { Db, Queryable } from '../store/db.js';
import { getEntity, identifyInline } from '../store/entities.js';
import { claimIdempotencyKey, findIdempotencyRecord, type IdempotencyRecord } from '../store/idempotency.js';
import { insertTriggerWithRuns, type NewRun } from '../store/runs.js';
import { getWorkflowHead } from '../store/workflows.js';
import { cachedDefinition, type EngineCaches } from './caches.js';
import { canonicalHash } from './canonical-hash.js';
import type { TriggerOutcome, TriggerRequest } from './engine.js';

export interface TriggerDeps {
  db: Db;
  clock: Clock;
  logger: FastifyBaseLogger;
  caches: EngineCaches;
  /** Tells the workers that runs became due (after commit); only shortens latency. */
  wakeWorkers: () => void;
}

const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;

/** Signals that a concurrent request with the same Idempotency-Key committed first. */
class IdempotencyRace extends Error {}

/** Signals that the cached workflow version was no longer current when the trigger was written. */
class StaleWorkflowHead extends Error {}

/** The active version of a workflow, from the engine's hint cache or the database. */
async function activeHead(deps: TriggerDeps, key: string, fresh: boolean): Promise<string> {
  const hint = fresh ? undefined : deps.caches.activeHeads.get(key);
  if (hint) return hint;
  const head = await getWorkflowHead(deps.db, key);
  if (!head) throw errors.workflowMissing(key);
  if (!head.active) throw errors.workflowInactive(key);
  deps.caches.activeHeads.set(key, head.sha);
  return head.sha;
}

/** Fields of an inline recipient that describe the trigger, not the entity. */
function inlineProperties(r: Exclude<RecipientRequest, string>): Record<string, unknown> {
  const { id: _id, collection: _c, $trigger_data: _t, ...props } = r;
  return props;
}

function replay(record: IdempotencyRecord, hash: string): TriggerOutcome {
  if (record.request_hash !== hash) throw errors.idempotencyMismatch();
  return { status: record.status_code, body: record.response as TriggerOutcome['body'], replayed: true, originalRequestId: record.request_id ?? undefined };
}

/**
 * Accepts a trigger: validates it, then commits inline identifications, the trigger row, one
 * run per distinct recipient and the idempotency record in ONE transaction, and only then
 * answers with the workflow_run_id; then the workers are woken.
 */
export async function acceptTrigger(deps: TriggerDeps, workflowKey: string, req: TriggerRequest, opts: { idempotencyKey?: string; requestId?: string }, fresh = false): Promise<TriggerOutcome> {
  const now = deps.clock.now();
  const hash = opts.idempotencyKey ? canonicalHash({ workflowKey, req }) : '';
  if (opts.idempotencyKey) {
    const existing = await findIdempotencyRecord(deps.db, opts.idempotencyKey, now);
    if (existing) return replay(existing, hash);
  }

  const sha = await activeHead(deps, workflowKey, fresh);
  const definition = await cachedDefinition(deps.db, deps.caches, sha);
  if (!definition) throw new HeraldError(500, 'internal_error', `Workflow version ${sha} is missing.`, 'api_error');
  const data = req.data ?? {};
  const schema = definition.trigger_data_json_schema;
  if (schema && typeof schema === 'object') {
    const fieldErrors = validateTriggerData(schema as object, data);
    if (fieldErrors.length > 0) throw errors.invalidParams('The trigger data does not match the workflow\'s trigger_data_json_schema.', fieldErrors);
  }

  const actor = req.actor ?? null;
  const actorKey = actor === null ? null : toEntityKey(actor);
  if (typeof actor === 'string' && !(await getEntity(deps.db, { collection: USERS, id: actor }))) throw errors.actorMissing(actor);

  const tenant = req.tenant ?? null;
  const tenantId = tenant === null ? null : typeof tenant === 'string' ? tenant : tenant.id;

  // Recipients are de-duplicated: one run per distinct (collection, id), first mention wins.
  const seen = new Set<string>();
  const runs: NewRun[] = [];
  const inline: { key: EntityKey; props: Record<string, unknown> }[] = [];
  for (const r of req.recipients) {
    const key = toEntityKey(r);
    const id = `${key.collection}\u0000${key.id}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const perRecipient = typeof r === 'object' && r.$trigger_data && typeof r.$trigger_data === 'object' ? (r.$trigger_data as Record<string, unknown>) : {};
    runs.push({ id: randomUUID(), recipient_collection: key.collection, recipient_id: key.id, data: { ...data, ...perRecipient } });
    if (typeof r === 'object') inline.push({ key, props: inlineProperties(r) });
  }
  if (actor && typeof actor === 'object' && actorKey) inline.push({ key: actorKey, props: inlineProperties(actor) });

  const workflowRunId = randomUUID();
  const body = { workflow_run_id: workflowRunId };
  const commit = async (tx: Queryable) => {
    for (const { key, props } of inline) await identifyInline(tx, key, props, now);
    if (tenant && typeof tenant === 'object') {
      const { id: _id, ...props } = tenant;
      await identifyInline(tx, { collection: TENANTS, id: tenant.id }, props, now);
    }
    const inserted = await insertTriggerWithRuns(tx, {
      id: workflowRunId,
      workflowKey,
      workflowSha: sha,
      actor: actorKey,
      tenantId,
      data,
      cancellationKey: req.cancellation_key ?? null,
      settings: req.settings ?? {},
      now,
    }, runs, { settings: req.settings ?? {} });
    if (!inserted) throw new StaleWorkflowHead();
    if (opts.idempotencyKey) {
      const record = { key: opts.idempotencyKey, request_hash: hash, status_code: 200, response: body, request_id: opts.requestId ?? null };
      if (!(await claimIdempotencyKey(tx, record, now, new Date(now.getTime() + IDEMPOTENCY_WINDOW_MS)))) throw new IdempotencyRace();
    }
  };
  try {
    // A plain trigger is one atomic statement; inline entities or an idempotency key need a transaction.
    if (inline.length === 0 && !(tenant && typeof tenant === 'object') && !opts.idempotencyKey) await commit(deps.db);
    else await deps.db.transaction(commit);
  } catch (err) {
    if (err instanceof StaleWorkflowHead) {
      // The workflow changed since the hint was cached: decide again from the database.
      deps.caches.activeHeads.delete(workflowKey);
      if (fresh) throw new HeraldError(503, 'workflow_changing', `The workflow "${workflowKey}" changed during the trigger; retry.`, 'api_error');
      return acceptTrigger(deps, workflowKey, req, opts, true);
    }
    if (!(err instanceof IdempotencyRace) || !opts.idempotencyKey) throw err;
    const winner = await findIdempotencyRecord(deps.db, opts.idempotencyKey, now);
    if (!winner) throw new HeraldError(500, 'internal_error', 'Idempotency record vanished during a concurrent request.', 'api_error');
    return replay(winner, hash);
  }
  if (runs.length > 0) deps.wakeWorkers();
  return { status: 200, body, replayed: false };
}
