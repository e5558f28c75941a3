import { Type } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import { TENANTS, type EntityKey } from '../../domain/recipients.js';
import { mergePreferenceLayers } from '../../domain/preferences.js';
import { layerNames } from '../../engine/preference-layers.js';
import type { Queryable } from '../../store/db.js';
import { deleteEntity, getEntity, identifyInline, listEntities, type EntityRow } from '../../store/entities.js';
import { getEnvironmentPreferenceSet } from '../../store/environment-preferences.js';
import { CursorQuery, pageInfo } from '../schemas/common.js';
import { serializeTenant } from '../serializers/entities.js';
import type { ApiDeps, App } from '../types.js';
import { CommonIdentifyFields, Nullable } from '../schemas/identify.js';

const Settings = Type.Object({
  branding: Type.Optional(Nullable(Type.Object({}, { additionalProperties: true }))),
  preference_set: Type.Optional(Nullable(Type.Object({}, { additionalProperties: true }))),
}, { additionalProperties: true });

const SetTenantBody = Type.Object({
  ...CommonIdentifyFields,
  settings: Type.Optional(Nullable(Settings)),
}, { additionalProperties: true, description: 'Known fields plus custom properties; merged, `settings` deep-merged' });

const ListTenantsQuery = Type.Composite([CursorQuery, Type.Object({
  name: Type.Optional(Type.String({ description: 'Exact tenant name' })),
  tenant_id: Type.Optional(Type.String({ description: 'Exact tenant id' })),
})]);

const ResolveQuery = Type.Object({
  resolve_full_preference_settings: Type.Optional(Type.Boolean({ description: 'Merge the environment default preference set under settings.preference_set' })),
});
const TenantParams = Type.Object({ tenant_id: Type.String({ minLength: 1 }) });

const tenant = (id: string): EntityKey => ({ collection: TENANTS, id });

/**
 * `resolve_full_preference_settings`: the tenant's `settings.preference_set` deep-merged over the
 * environment default set, as preference resolution layers them (knock-api.md §2.4, §5.11).
 */
async function resolved(q: Queryable, row: EntityRow, resolve: boolean | undefined): Promise<EntityRow> {
  if (!resolve) return row;
  const environment = await getEnvironmentPreferenceSet(q);
  if (!environment) return row;
  const settings = (row.properties.settings ?? {}) as Record<string, unknown>;
  const own = settings.preference_set as Record<string, unknown> | null | undefined;
  const merged = mergePreferenceLayers([
    { name: layerNames.tenantDefault(row.id), set: own },
    { name: layerNames.environmentDefault, set: environment.preferences },
  ]);
  return { ...row, properties: { ...row.properties, settings: { ...settings, preference_set: merged } } };
}

export function registerTenantRoutes(app: App, deps: ApiDeps): void {
  const tags = ['tenants'];

  app.get('/v1/tenants', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'List tenants (oldest first)', querystring: ListTenantsQuery },
  }, async (request) => {
    const q = request.query;
    const pageSize = q.page_size ?? 50;
    const page = await listEntities(deps.db, TENANTS, { after: q.after, before: q.before, pageSize, name: q.name, id: q.tenant_id });
    return { entries: page.entries.map(serializeTenant), page_info: pageInfo(pageSize, page.after, page.before) };
  });

  app.get('/v1/tenants/:tenant_id', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Get a tenant', params: TenantParams, querystring: ResolveQuery },
  }, async (request) => {
    const row = await getEntity(deps.db, tenant(request.params.tenant_id));
    if (!row) throw errors.notFound(`Tenant "${request.params.tenant_id}"`);
    return serializeTenant(await resolved(deps.db, row, request.query.resolve_full_preference_settings));
  });

  app.put('/v1/tenants/:tenant_id', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Set (merge upsert) a tenant', params: TenantParams, querystring: ResolveQuery, body: SetTenantBody },
  }, async (request) => {
    const body = request.body as Record<string, unknown>;
    const row = await deps.db.transaction((tx) => identifyInline(tx, tenant(request.params.tenant_id), body, deps.clock.now()));
    return serializeTenant(await resolved(deps.db, row, request.query.resolve_full_preference_settings));
  });

  app.delete('/v1/tenants/:tenant_id', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Delete a tenant', params: TenantParams },
  }, async (request, reply) => {
    await deleteEntity(deps.db, tenant(request.params.tenant_id));
    return reply.code(204).send();
  });
}
