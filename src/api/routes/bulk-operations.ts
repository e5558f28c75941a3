import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { errors } from '../../domain/errors.js';
import { RUNS_CHANNEL } from '../../queue/wake.js';
import { enqueueBulkOperation, getBulkOperation } from '../../store/bulk-operations.js';
import type { BulkOperationName } from '../../store/bulk/index.js';
import { serializeBulkOperation } from '../serializers/bulk-operations.js';
import type { ApiDeps, App } from '../types.js';
import { publicBaseUrl } from '../public-url.js';


/**
 * Answers a bulk endpoint (knock-api.md §5.15): the validated items are stored as a `queued`
 * operation and the BulkOperation is returned at once; the bulk task applies them in the
 * background. The NOTIFY only wakes idle workers sooner; they poll anyway.
 */
export async function acceptBulkOperation(
  deps: ApiDeps,
  request: FastifyRequest,
  name: BulkOperationName,
  items: unknown[],
  params: Record<string, unknown> = {},
) {
  const op = await enqueueBulkOperation(deps.db, { id: randomUUID(), name, items, params, now: deps.clock.now() });
  deps.db.notify(RUNS_CHANNEL).catch((err) => request.log.warn({ err }, 'NOTIFY failed; the bulk task will poll'));
  return serializeBulkOperation(op, publicBaseUrl(deps, request));
}

export function registerBulkOperationRoutes(app: App, deps: ApiDeps): void {
  app.get('/v1/bulk_operations/:id', {
    config: { auth: 'secret' },
    schema: { tags: ['bulk operations'], summary: 'Get a bulk operation (its progress)', params: Type.Object({ id: Type.String() }) },
  }, async (request) => {
    const op = await getBulkOperation(deps.db, request.params.id);
    if (!op) throw errors.notFound(`Bulk operation "${request.params.id}"`);
    return serializeBulkOperation(op, publicBaseUrl(deps, request));
  });
}
