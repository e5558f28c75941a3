import { TENANTS, USERS, type EntityKey } from '../../domain/recipients.js';
import { renderString } from '../../templates/liquid.js';
import { renderJsonObject } from './render-json.js';
import type { StepContext, StepHandler, StepResult } from './types.js';

/**
 * Reads Knock's global ids: `gid://Object/<collection>/<id>` (users are `gid://Object/$users/<id>`),
 * and the shorter `gid://User/<id>` and `gid://Tenant/<id>`.
 */
export function parseGid(gid: string): EntityKey | null {
  const m = /^gid:\/\/(Object|User|Tenant)\/(.+)$/.exec(gid.trim());
  if (!m) return null;
  if (m[1] === 'User') return { collection: USERS, id: m[2] };
  if (m[1] === 'Tenant') return { collection: TENANTS, id: m[2] };
  const slash = m[2].indexOf('/');
  if (slash <= 0 || slash === m[2].length - 1) return null;
  return { collection: m[2].slice(0, slash), id: m[2].slice(slash + 1) };
}

async function merge(ctx: StepContext, target: EntityKey | null, missing: string): Promise<StepResult> {
  if (!target) return { kind: 'skipped', reason: missing, error: true };
  const properties = await renderJsonObject(ctx.step.settings?.update_properties, ctx.scope, 'settings.update_properties');
  const isRecipient = target.collection === ctx.run.recipient_collection && target.id === ctx.run.recipient_id;
  // Later steps of this run see the recipient's new properties at once.
  if (isRecipient) Object.assign(ctx.scope.recipient, properties);
  if (ctx.run.tenant_id && target.collection === TENANTS && target.id === ctx.run.tenant_id && ctx.scope.tenant) Object.assign(ctx.scope.tenant, properties);
  return {
    kind: 'completed',
    effects: [{ type: 'merge_entity', key: target, properties }],
    event: { updated: target, updated_keys: Object.keys(properties) },
  };
}

async function referenced(ctx: StepContext, expected: string | null): Promise<EntityKey | null> {
  const template = ctx.step.settings?.recipient_gid;
  if (typeof template !== 'string') return null;
  const key = parseGid(await renderString(template, ctx.scope, 'settings.recipient_gid'));
  if (!key || (expected && key.collection !== expected)) return null;
  return key;
}

/** `update_user`: the current recipient (when it is a user) or the user named by `recipient_gid`. */
export const updateUserStep: StepHandler = async (ctx) => {
  const current = ctx.step.settings?.recipient_mode !== 'reference';
  const target = current
    ? (ctx.run.recipient_collection === USERS ? { collection: USERS, id: ctx.run.recipient_id } : null)
    : await referenced(ctx, USERS);
  return merge(ctx, target, current ? 'the recipient is not a user' : 'settings.recipient_gid does not name a user');
};

/** `update_tenant`: the run's tenant, or the tenant named by `recipient_gid`. */
export const updateTenantStep: StepHandler = async (ctx) => {
  const current = ctx.step.settings?.recipient_mode !== 'reference';
  const target = current
    ? (ctx.run.tenant_id ? { collection: TENANTS, id: ctx.run.tenant_id } : null)
    : await referenced(ctx, TENANTS);
  return merge(ctx, target, current ? 'the run has no tenant' : 'settings.recipient_gid does not name a tenant');
};

/** `update_object`: the object named by `recipient_gid`. */
export const updateObjectStep: StepHandler = async (ctx) =>
  merge(ctx, await referenced(ctx, null), 'settings.recipient_gid is not a valid object gid');
