import type { WorkflowDefinition } from '../domain/workflow.js';
import { TENANTS, USERS, type EntityKey } from '../domain/recipients.js';
import type { Queryable } from '../store/db.js';
import { getEntities } from '../store/entities.js';
import type { RunRow } from '../store/runs.js';

/** What templates and conditions see: Knock's variable roots. */
export interface RunScope {
  data: Record<string, unknown>;
  recipient: Record<string, unknown>;
  actor: Record<string, unknown> | null;
  tenant: Record<string, unknown> | null;
  vars: Record<string, unknown>;
  workflow: { id: string; key: string; name: string; categories: string[]; cancellation_key: string | null };
}

/** Flattens an entity for templates: users and tenants keep custom fields at the top level. */
function flatten(key: EntityKey, properties: Record<string, unknown> | undefined): Record<string, unknown> {
  const base: Record<string, unknown> = { ...(properties ?? {}), id: key.id };
  if (key.collection !== USERS) base.collection = key.collection;
  return base;
}

/** Loads the recipient, actor and tenant of a run in one query. */
export async function loadRunScope(q: Queryable, run: RunRow, def: WorkflowDefinition): Promise<RunScope> {
  const recipientKey = { collection: run.recipient_collection, id: run.recipient_id };
  const keys: EntityKey[] = [recipientKey];
  if (run.actor) keys.push(run.actor);
  if (run.tenant_id) keys.push({ collection: TENANTS, id: run.tenant_id });
  const rows = await getEntities(q, keys);
  const find = (k: EntityKey) => rows.find((r) => r.collection === k.collection && r.id === k.id)?.properties as Record<string, unknown> | undefined;
  return {
    data: run.data ?? {},
    recipient: flatten(recipientKey, find(recipientKey)),
    actor: run.actor ? flatten(run.actor, find(run.actor)) : null,
    tenant: run.tenant_id ? flatten({ collection: TENANTS, id: run.tenant_id }, find({ collection: TENANTS, id: run.tenant_id })) : null,
    vars: {},
    workflow: { id: def.key, key: def.key, name: def.name ?? def.key, categories: def.categories ?? [], cancellation_key: run.cancellation_key },
  };
}
