import type { WorkflowDefinition } from '../domain/workflow.js';
import { TENANTS, USERS, type EntityKey } from '../domain/recipients.js';
import type { BatchResult, RunRow } from '../domain/run.js';

/** What templates and conditions see: Knock's variable roots. */
export interface RunScope {
  data: Record<string, unknown>;
  recipient: Record<string, unknown>;
  actor: Record<string, unknown> | null;
  tenant: Record<string, unknown> | null;
  vars: Record<string, unknown>;
  workflow: { id: string; key: string; name: string; categories: string[]; cancellation_key: string | null };
  /** After a batch step: Knock's batch variables, also under `run.` for conditions. */
  total_activities?: number;
  total_actors?: number;
  activities?: Record<string, unknown>[];
  actors?: Record<string, unknown>[];
  run?: { total_activities: number; total_actors: number };
  /** Messages of this run's channel steps by step ref, for message-status conditions (message-refs.ts). */
  refs?: Record<string, MessageRef>;
}

/** A channel step's message as `refs.<step_ref>` (knock-api.md §5.13). */
export interface MessageRef {
  message_id: string;
  delivery_status: string;
  /** The engagement statuses currently set (seen, read, interacted, link_clicked, archived). */
  engagement_status: string[];
}

/** Puts a batch's variables into a run's scope (templates and conditions). */
export function applyBatchResult(scope: RunScope, result: BatchResult, lookup: (k: EntityKey) => Record<string, unknown> | undefined): void {
  scope.total_activities = result.total_activities;
  scope.total_actors = result.total_actors;
  scope.run = { total_activities: result.total_activities, total_actors: result.total_actors };
  scope.actors = result.actors.map((a) => flatten(a, lookup(a)));
  scope.activities = result.activities.map((a) => ({
    id: a.id,
    actor: a.actor ? flatten(a.actor, lookup(a.actor)) : null,
    recipient: scope.recipient,
    data: a.data,
    inserted_at: a.inserted_at,
  }));
}

/** Flattens an entity for templates: custom fields at the top level, plus id (and collection for objects). */
function flatten(key: EntityKey, properties: Record<string, unknown> | undefined): Record<string, unknown> {
  const base: Record<string, unknown> = { ...(properties ?? {}), id: key.id };
  if (key.collection !== USERS) base.collection = key.collection;
  return base;
}

/** Builds a run's scope from entities already loaded for the whole batch. */
export function buildRunScope(run: RunRow, def: WorkflowDefinition, lookup: (k: EntityKey) => Record<string, unknown> | undefined): RunScope {
  const recipientKey = { collection: run.recipient_collection, id: run.recipient_id };
  const tenantKey = run.tenant_id ? { collection: TENANTS, id: run.tenant_id } : null;
  const recipient = flatten(recipientKey, lookup(recipientKey));
  const subscription = run.state?.subscription;
  if (subscription) {
    // Knock: `recipient.subscription` holds the subscription's properties and its `object`;
    // `properties` is offered too so templates need not guess which keys are properties.
    const properties = subscription.properties ?? {};
    recipient.subscription = { ...properties, properties, object: flatten(subscription.object, lookup(subscription.object)) };
  }
  const scope: RunScope = {
    data: run.data ?? {},
    recipient,
    actor: run.actor ? flatten(run.actor, lookup(run.actor)) : null,
    tenant: tenantKey ? flatten(tenantKey, lookup(tenantKey)) : null,
    vars: {},
    workflow: { id: def.key, key: def.key, name: def.name ?? def.key, categories: def.categories ?? [], cancellation_key: run.cancellation_key },
  };
  if (run.state?.batch_result) applyBatchResult(scope, run.state.batch_result, lookup);
  return scope;
}
