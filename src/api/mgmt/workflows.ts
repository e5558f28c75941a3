import { Type } from '@sinclair/typebox';
import type { ApiDeps, App } from '../types.js';
import { environmentDb, environmentsOf } from './environments.js';
import { getMgmtWorkflow, listMgmtWorkflows, type MgmtView } from '../../workflows/mgmt-catalog.js';
import { editableEnvironment } from '../../content/commits.js';
import type { EnvironmentDirectory } from '../../environments/directory.js';
import { ContentGetQuery, ContentListQuery, PageInfo, Workflow } from './schemas.js';

const ListQuery = ContentListQuery;
const GetQuery = ContentGetQuery;

/**
 * Knock's default is the latest version, uncommitted changes included (only the editable
 * environment, development, has them); `hide_uncommitted_changes` shows committed content only.
 */
function viewOf(environments: EnvironmentDirectory, environment: string, q: { annotate?: boolean; hide_uncommitted_changes?: boolean }): MgmtView {
  return { drafts: environment === editableEnvironment(environments) && q.hide_uncommitted_changes !== true, annotate: q.annotate === true };
}

export function registerMgmtWorkflowRoutes(app: App, deps: Pick<ApiDeps, 'db' | 'keys' | 'environments'>): void {
  const environments = environmentsOf(deps);
  app.get('/v1/workflows', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'List workflows (Knock mgmt: listWorkflows)', querystring: ListQuery,
      response: { 200: Type.Object({ entries: Type.Array(Workflow), page_info: PageInfo }) },
    },
  }, async (request) => {
    const { environment } = request.query;
    return listMgmtWorkflows(await environmentDb(environments, environment), environment, request.query, viewOf(environments, environment, request.query));
  });

  app.get('/v1/workflows/:workflow_key', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Get a workflow (Knock mgmt: getWorkflow)',
      params: Type.Object({ workflow_key: Type.String({ minLength: 1 }) }), querystring: GetQuery,
      response: { 200: Workflow },
    },
  }, async (request) => {
    const { environment } = request.query;
    return getMgmtWorkflow(await environmentDb(environments, environment), request.params.workflow_key, environment, viewOf(environments, environment, request.query));
  });
}
