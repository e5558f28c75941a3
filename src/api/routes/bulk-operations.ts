import { Type } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import { getBulkOperation } from '../../store/bulk-operations.js';
import { serializeBulkOperation } from '../serializers/messages.js';
import type { ApiDeps, App } from '../types.js';

export function registerBulkOperationRoutes(app: App, deps: ApiDeps): void {
  app.get('/v1/bulk_operations/:id', {
    schema: { tags: ['bulk operations'], summary: 'Get a bulk operation', params: Type.Object({ id: Type.String() }) },
  }, async (request) => {
    const op = await getBulkOperation(deps.db, request.params.id);
    if (!op) throw errors.notFound(`Bulk operation "${request.params.id}"`);
    return serializeBulkOperation(op, `${request.protocol}://${request.host}`);
  });
}
