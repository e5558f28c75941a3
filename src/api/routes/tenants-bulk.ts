import { Type } from '@sinclair/typebox';
import { Id, TenantRequest } from '../schemas/common.js';
import type { ApiDeps, App } from '../types.js';
import { acceptBulkOperation } from './bulk-operations.js';

/* tenants.bulk.* (knock-api.md §2.4): queued BulkOperations applied by src/store/bulk/tenants.ts. */

const MAX = 1000;
const SetBody = Type.Object({ tenants: Type.Array(TenantRequest, { maxItems: MAX, description: 'Tenant ids or TenantRequests' }) });
// The node SDK sends the ids in the query string (`tenant_ids[]=…`) with no body.
const DeleteQuery = Type.Object({ tenant_ids: Type.Array(Id, { maxItems: MAX }) });

export function registerTenantBulkRoutes(app: App, deps: ApiDeps): void {
  const tags = ['tenants', 'bulk operations'];

  app.post('/v1/tenants/bulk/set', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Set (merge upsert) up to 1,000 tenants; answers a queued BulkOperation', body: SetBody },
  }, async (request) => acceptBulkOperation(deps, request, 'tenants.bulk_set', request.body.tenants));

  app.post('/v1/tenants/bulk/delete', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Delete up to 1,000 tenants (ids in the query); answers a queued BulkOperation', querystring: DeleteQuery },
  }, async (request) => acceptBulkOperation(deps, request, 'tenants.bulk_delete', request.query.tenant_ids));
}
