import { Type } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import { TENANTS, type EntityKey } from '../../domain/recipients.js';
import { deleteEntity, getEntity, identifyInline, listEntities } from '../../store/entities.js';
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

/**
 * Accepted for SDK compatibility. Herald has no environment-level default preference set to
 * merge in, so the tenant's own `settings.preference_set` is already the full one.
 */
const ResolveQuery = Type.Object({ resolve_full_preference_settings: Type.Optional(Type.Boolean()) });
const TenantParams = Type.Object({ tenant_id: Type.String({ minLength: 1 }) });

const tenant = (id: string): EntityKey => ({ collection: TENANTS, id });

export function registerTenantRoutes(app: App, deps: ApiDeps): void {
  const tags = ['tenants'];

  app.get('/v1/tenants', {
    schema: { tags, summary: 'List tenants (oldest first)', querystring: ListTenantsQuery },
  }, async (request) => {
    const q = request.query;
    const pageSize = q.page_size ?? 50;
    const page = await listEntities(deps.db, TENANTS, { after: q.after, before: q.before, pageSize, name: q.name, id: q.tenant_id });
    return { entries: page.entries.map(serializeTenant), page_info: pageInfo(pageSize, page.after, page.before) };
  });

  app.get('/v1/tenants/:tenant_id', {
    schema: { tags, summary: 'Get a tenant', params: TenantParams, querystring: ResolveQuery },
  }, async (request) => {
    const row = await getEntity(deps.db, tenant(request.params.tenant_id));
    if (!row) throw errors.notFound(`Tenant "${request.params.tenant_id}"`);
    return serializeTenant(row);
  });

  app.put('/v1/tenants/:tenant_id', {
    schema: { tags, summary: 'Set (merge upsert) a tenant', params: TenantParams, querystring: ResolveQuery, body: SetTenantBody },
  }, async (request) => {
    const body = request.body as Record<string, unknown>;
    const row = await deps.db.transaction((tx) => identifyInline(tx, tenant(request.params.tenant_id), body, deps.clock.now()));
    return serializeTenant(row);
  });

  app.delete('/v1/tenants/:tenant_id', {
    schema: { tags, summary: 'Delete a tenant', params: TenantParams },
  }, async (request, reply) => {
    await deleteEntity(deps.db, tenant(request.params.tenant_id));
    return reply.code(204).send();
  });
}
