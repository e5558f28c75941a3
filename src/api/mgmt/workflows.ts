import { Type } from '@sinclair/typebox';
import type { ApiDeps, App } from '../types.js';
import { environmentDb, environmentsOf } from './environments.js';
import { getMgmtWorkflow, listMgmtWorkflows } from '../../workflows/mgmt-catalog.js';
import { EnvironmentQuery, PageInfo, Workflow } from './schemas.js';

/** Parameters knock-cli sends that do not change the answer yet (no branches, no uncommitted changes). */
const ContentFlags = {
  branch: Type.Optional(Type.String()),
  annotate: Type.Optional(Type.Boolean()),
  hide_uncommitted_changes: Type.Optional(Type.Boolean()),
};

const ListQuery = Type.Object({
  environment: EnvironmentQuery,
  after: Type.Optional(Type.String()),
  before: Type.Optional(Type.String()),
  limit: Type.Optional(Type.Integer({ minimum: 1 })),
  ...ContentFlags,
});

const GetQuery = Type.Object({ environment: EnvironmentQuery, ...ContentFlags });

export function registerMgmtWorkflowRoutes(app: App, deps: Pick<ApiDeps, 'db' | 'keys' | 'environments'>): void {
  const environments = environmentsOf(deps);
  app.get('/v1/workflows', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'List workflows (Knock mgmt: listWorkflows)', querystring: ListQuery,
      response: { 200: Type.Object({ entries: Type.Array(Workflow), page_info: PageInfo }) },
    },
  }, async (request) => {
    return listMgmtWorkflows(await environmentDb(environments, request.query.environment), request.query.environment, request.query);
  });

  app.get('/v1/workflows/:workflow_key', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Get a workflow (Knock mgmt: getWorkflow)',
      params: Type.Object({ workflow_key: Type.String({ minLength: 1 }) }), querystring: GetQuery,
      response: { 200: Workflow },
    },
  }, async (request) => {
    return getMgmtWorkflow(await environmentDb(environments, request.query.environment), request.params.workflow_key, request.query.environment);
  });
}
