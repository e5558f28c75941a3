import { TENANTS } from '../../domain/recipients.js';
import { deleteEntity, identifyInline } from '../entities.js';
import type { BulkHandler } from './types.js';

type TenantItem = string | ({ id: string } & Record<string, unknown>);
const idOf = (t: TenantItem) => (typeof t === 'string' ? t : t.id);

/** tenants.bulk.set: a tenant id (created if missing) or a TenantRequest, merged like PUT /v1/tenants/{id}. */
export const setTenants: BulkHandler<TenantItem> = {
  async apply(tx, tenant, { now }) {
    await identifyInline(tx, { collection: TENANTS, id: idOf(tenant) }, typeof tenant === 'string' ? {} : tenant, now);
  },
  describe: (tenant) => ({ id: idOf(tenant), collection: TENANTS }),
};

/** tenants.bulk.delete: each item is a tenant id; a missing tenant is not an error. */
export const deleteTenants: BulkHandler<string> = {
  async apply(tx, id) {
    await deleteEntity(tx, { collection: TENANTS, id });
  },
  describe: (id) => ({ id, collection: TENANTS }),
};
