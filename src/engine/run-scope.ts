import type { WorkflowDefinition } from '../domain/workflow.js';
import { TENANTS, USERS, type EntityKey } from '../domain/recipients.js';
import type { RunRow } from '../domain/run.js';

/** What templates and conditions see: Knock's variable roots. */
export interface RunScope {
  data: Record<string, unknown>;
  recipient: Record<string, unknown>;
  actor: Record<string, unknown> | null;
  tenant: Record<string, unknown> | null;
  vars: Record<string, unknown>;
  workflow: { id: string; key: string; name: string; categories: string[]; cancellation_key: string | null };
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
  return {
    data: run.data ?? {},
    recipient,
    actor: run.actor ? flatten(run.actor, lookup(run.actor)) : null,
    tenant: tenantKey ? flatten(tenantKey, lookup(tenantKey)) : null,
    vars: {},
    workflow: { id: def.key, key: def.key, name: def.name ?? def.key, categories: def.categories ?? [], cancellation_key: run.cancellation_key },
  };
}
