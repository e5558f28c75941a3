import { Type } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import { toEntityKey } from '../../domain/recipients.js';
import { getRun, listRunEvents, listRuns } from '../../store/run-queries.js';
import { CursorQuery, RecipientReference, pageInfo } from '../schemas/common.js';
import { serializeRun, serializeRunEvent } from '../serializers/runs.js';
import type { ApiDeps, App } from '../types.js';

const RunStatus = Type.Union(['queued', 'processing', 'paused', 'completed', 'cancelled'].map((s) => Type.Literal(s)));

const ListQuery = Type.Composite([CursorQuery, Type.Object({
  workflow: Type.Optional(Type.String()),
  status: Type.Optional(Type.Array(RunStatus)),
  tenant: Type.Optional(Type.String()),
  has_errors: Type.Optional(Type.Boolean()),
  recipient: Type.Optional(RecipientReference),
  starting_at: Type.Optional(Type.String({ format: 'date-time' })),
  ending_at: Type.Optional(Type.String({ format: 'date-time' })),
  workflow_run_id: Type.Optional(Type.String()),
})]);

export function registerRunRoutes(app: App, deps: ApiDeps): void {
  app.get('/v1/workflow_recipient_runs', {
    config: { auth: 'secret' },
    schema: { tags: ['workflow runs'], summary: 'List workflow recipient runs', querystring: ListQuery },
  }, async (request) => {
    const q = request.query;
    const pageSize = q.page_size ?? 50;
    const page = await listRuns(deps.db, {
      workflow: q.workflow,
      status: q.status,
      tenant: q.tenant,
      hasErrors: q.has_errors,
      recipient: q.recipient ? toEntityKey(q.recipient) : undefined,
      startingAt: q.starting_at ? new Date(q.starting_at) : undefined,
      endingAt: q.ending_at ? new Date(q.ending_at) : undefined,
      workflowRunId: q.workflow_run_id,
    }, { after: q.after, before: q.before, pageSize });
    return { items: page.runs.map(serializeRun), page_info: pageInfo(pageSize, page.after, page.before) };
  });

  app.get('/v1/workflow_recipient_runs/:id', {
    config: { auth: 'secret' },
    schema: { tags: ['workflow runs'], summary: 'Get a workflow recipient run with its events', params: Type.Object({ id: Type.String() }) },
  }, async (request) => {
    const run = await getRun(deps.db, request.params.id);
    if (!run) throw errors.notFound(`Workflow recipient run "${request.params.id}"`);
    const events = await listRunEvents(deps.db, run.id);
    return { ...serializeRun(run), events: events.map(serializeRunEvent) };
  });
}
