/**
 * Workflows as editable content (Knock mgmt: upsertWorkflow, validateWorkflow,
 * activateWorkflow, runWorkflow) and commits (listCommits, getCommit, commitAllChanges,
 * promoteAllCommits, promoteOneCommit). The machinery is src/content/ (kinds.ts explains
 * drafts -> commit -> promote); routes parse, check the environment and shape the answer.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { ApiDeps, App } from '../types.js';
import { errors, HeraldError } from '../../domain/errors.js';
import type { Engine } from '../../engine/engine.js';
import type { EnvironmentDirectory } from '../../environments/directory.js';
import { environmentDb, environmentsOf } from './environments.js';
import { EnvironmentQuery, PageInfo, Workflow } from './schemas.js';
import { Id, RecipientRequest, TenantRequest } from '../schemas/common.js';
import { contentKind, isContentType, type ContentType } from '../../content/kinds.js';
import '../../content/workflow-kind.js';
import { commitDrafts, editableEnvironment, findCommit, promoteAll, promoteOne, PromotionError, saveDraft } from '../../content/commits.js';
import { contentSha, deleteDraft, getCommitted, listCommits, setCommittedActive, type ContentCommit } from '../../store/content.js';
import { setWorkflowActive } from '../../store/workflow-content.js';
import { decodeCursor, encodeCursor } from '../../store/cursor.js';
import { mgmtWorkflowOf, resolveWorkflow, MGMT_DEFAULT_PAGE_SIZE, MGMT_MAX_PAGE_SIZE } from '../../workflows/mgmt-catalog.js';
import type { WorkflowDefinition } from '../../domain/workflow.js';

const KeyParams = Type.Object({ workflow_key: Type.String({ minLength: 1, maxLength: 255 }) });
const WrappedWorkflow = Type.Object({ workflow: Workflow });
const ResourceTypes = Type.Array(Type.String({ enum: ['audience', 'email_layout', 'guide', 'message_type', 'partial', 'translation', 'workflow'] }), { maxItems: 10 });

const CommitSchema = Type.Object({
  id: Type.String(),
  commit_message: Type.String(),
  author: Type.Object({ email: Type.String(), name: Type.Union([Type.String(), Type.Null()]) }),
  environment: Type.String(),
  created_at: Type.String(),
  resource: Type.Object({ identifier: Type.String(), type: Type.String() }),
});

/** Who made a change: the service token's name (Knock's commit author). */
function authorOf(request: FastifyRequest): string | null {
  return request.auth?.kind === 'service_token' ? request.auth.name : null;
}

/** Knock's commit shape; the author is the service token (a self-hosted Herald has no user accounts). */
function commitOut(c: ContentCommit) {
  const name = c.author ?? 'herald';
  return {
    id: c.id,
    commit_message: c.message,
    author: { email: `${name}@service-token.herald.invalid`, name },
    environment: c.environment,
    created_at: c.createdAt.toISOString(),
    resource: { identifier: c.key, type: c.type },
  };
}

/** Knock only writes content in development (the first environment); other environments get it by promotion. */
function checkEditable(environments: EnvironmentDirectory, environment: string, what: string): void {
  const editable = editableEnvironment(environments);
  if (environment === editable) return;
  throw errors.invalidParams(`${what} only operates on the "${editable}" environment; "${environment}" receives changes by promotion (PUT /v1/commits/promote).`,
    [{ field: 'environment', message: `must be "${editable}"`, type: 'invalid' }]);
}

function contentTypes(values: readonly string[] | undefined): ContentType[] | undefined {
  if (!values || values.length === 0) return undefined;
  // Types Herald does not manage (audiences, guides, message types) have no commits: an empty filter matches nothing.
  return values.filter(isContentType);
}

function validated(key: string, body: unknown): WorkflowDefinition {
  const result = contentKind('workflow').validate(key, body);
  if (!result.ok) throw errors.invalidParams(`The workflow "${key}" is not valid.`, result.errors);
  return result.value as WorkflowDefinition;
}

/** A directory that can also answer an environment's engine (test runs in that environment). */
type DirectoryWithEngines = EnvironmentDirectory & { engine?(slug: string): Engine | Promise<Engine> };

/**
 * The engine of `environment`: the directory's when it has one per environment; else this
 * API's own, which is right for the first environment and whenever one store answers every
 * environment. Running in another environment's store with this engine would run the wrong
 * environment's workflow for the wrong users, so that is refused instead.
 */
async function engineOf(deps: ApiDeps, environments: DirectoryWithEngines, environment: string): Promise<Engine> {
  if (environments.engine) return environments.engine(environment);
  if (!deps.environments || environment === editableEnvironment(environments)) return deps.engine;
  throw new HeraldError(501, 'not_implemented', `Test runs in "${environment}" are not available from the management API yet; trigger with that environment's secret key.`, 'api_error');
}

export function registerMgmtContentRoutes(app: App, deps: ApiDeps): void {
  const environments = environmentsOf(deps);

  app.put('/v1/workflows/:workflow_key', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Upsert a workflow as an uncommitted change in development (Knock mgmt: upsertWorkflow)',
      params: KeyParams,
      querystring: Type.Object({
        environment: EnvironmentQuery,
        branch: Type.Optional(Type.String()),
        annotate: Type.Optional(Type.Boolean()),
        force: Type.Optional(Type.Boolean()),
        commit: Type.Optional(Type.Boolean()),
        commit_message: Type.Optional(Type.String({ maxLength: 1000 })),
        allow_empty: Type.Optional(Type.Boolean()),
      }),
      body: Type.Object({ workflow: Type.Unknown() }),
      response: { 200: WrappedWorkflow },
    },
  }, async (request) => {
    const { environment } = request.query;
    const key = request.params.workflow_key;
    const db = await environmentDb(environments, environment);
    checkEditable(environments, environment, 'Upserting a workflow');
    const value = validated(key, request.body.workflow);
    const now = deps.clock.now();
    const committed = await getCommitted(db, environment, 'workflow', key);
    // Pushing what is already committed leaves nothing to commit (as Knock: no empty change).
    if (committed && committed.source === 'api' && committed.sha === contentSha(value)) await deleteDraft(db, environment, 'workflow', key);
    else await saveDraft(db, { environment, type: 'workflow', key, value, author: authorOf(request), now });
    if (request.query.commit) {
      await commitDrafts(db, { environment, types: ['workflow'], key, message: request.query.commit_message ?? '', author: authorOf(request), now });
    }
    const view = { drafts: true, annotate: request.query.annotate };
    const current = await resolveWorkflow(db, environment, key, view);
    return { workflow: await mgmtWorkflowOf(db, current!, environment, view) };
  });

  app.put('/v1/workflows/:workflow_key/validate', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Validate a workflow without storing it (Knock mgmt: validateWorkflow)',
      params: KeyParams,
      querystring: Type.Object({ environment: EnvironmentQuery, branch: Type.Optional(Type.String()) }),
      body: Type.Object({ workflow: Type.Unknown() }),
      response: { 200: WrappedWorkflow },
    },
  }, async (request) => {
    const { environment } = request.query;
    const key = request.params.workflow_key;
    const db = await environmentDb(environments, environment);
    checkEditable(environments, environment, 'Validating a workflow');
    const definition = validated(key, request.body.workflow);
    const now = deps.clock.now();
    // Read-only fields the system sets when storing stay empty, as the spec says.
    const stored = { key, sha: '', active: false, definition, createdAt: now, updatedAt: now };
    return { workflow: await mgmtWorkflowOf(db, stored, environment, { drafts: true }) };
  });

  app.put('/v1/workflows/:workflow_key/activate', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Activate or deactivate a workflow in one environment (Knock mgmt: activateWorkflow)',
      params: KeyParams,
      // knock-cli sends `status` in the query, the spec in the body: both are read.
      querystring: Type.Object({ environment: EnvironmentQuery, branch: Type.Optional(Type.String()), status: Type.Optional(Type.Boolean()) }),
      body: Type.Optional(Type.Union([Type.Object({ status: Type.Optional(Type.Boolean()) }), Type.Null()])),
      response: { 200: WrappedWorkflow },
    },
  }, async (request) => {
    const { environment } = request.query;
    const key = request.params.workflow_key;
    const db = await environmentDb(environments, environment);
    const status = request.body?.status ?? request.query.status ?? true;
    const committed = await resolveWorkflow(db, environment, key, { drafts: false });
    if (!committed) {
      throw errors.invalidParams(`The workflow "${key}" has no committed version in "${environment}": commit (and promote) it before activating it.`,
        [{ field: 'workflow_key', message: 'has no committed version in this environment', type: 'invalid' }]);
    }
    const now = deps.clock.now();
    await setCommittedActive(db, environment, 'workflow', key, status, now);
    await setWorkflowActive(db, key, status, now);
    const view = { drafts: environment === editableEnvironment(environments) };
    return { workflow: await mgmtWorkflowOf(db, (await resolveWorkflow(db, environment, key, view))!, environment, view) };
  });

  app.put('/v1/workflows/:workflow_key/run', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Run the committed version of a workflow (Knock mgmt: runWorkflow)',
      params: KeyParams,
      querystring: Type.Object({ environment: EnvironmentQuery, branch: Type.Optional(Type.String()) }),
      body: Type.Object({
        recipients: Type.Array(RecipientRequest, { maxItems: 1000 }),
        actor: Type.Optional(Type.Union([RecipientRequest, Type.Null()])),
        cancellation_key: Type.Optional(Type.Union([Id, Type.Null()])),
        data: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()])),
        tenant: Type.Optional(Type.Union([TenantRequest, Type.Null()])),
      }),
      response: { 200: Type.Object({ workflow_run_id: Type.String() }) },
    },
  }, async (request) => {
    const { environment } = request.query;
    await environmentDb(environments, environment);
    // The engine triggers the committed version, exactly as POST /v1/workflows/{key}/trigger does.
    const outcome = await (await engineOf(deps, environments, environment)).trigger(request.params.workflow_key, request.body as never, { requestId: request.id });
    return { workflow_run_id: outcome.body.workflow_run_id };
  });

  /* ------------------------------------------------------------- commits */

  app.get('/v1/commits', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'List commits, newest first (Knock mgmt: listCommits)',
      querystring: Type.Object({
        environment: EnvironmentQuery,
        branch: Type.Optional(Type.String()),
        promoted: Type.Optional(Type.Boolean()),
        resource_type: Type.Optional(ResourceTypes),
        resource_id: Type.Optional(Type.String({ maxLength: 255 })),
        after: Type.Optional(Type.String({ maxLength: 500 })),
        before: Type.Optional(Type.String({ maxLength: 500 })),
        limit: Type.Optional(Type.Integer({ minimum: 1 })),
      }),
      response: { 200: Type.Object({ entries: Type.Array(CommitSchema), page_info: PageInfo }) },
    },
  }, async (request) => {
    const q = request.query;
    const db = await environmentDb(environments, q.environment);
    if (q.resource_id !== undefined && !q.resource_type) {
      throw errors.invalidParams('resource_id must be used together with resource_type.', [{ field: 'resource_id', message: 'needs resource_type', type: 'invalid' }]);
    }
    const pageSize = Math.min(q.limit ?? MGMT_DEFAULT_PAGE_SIZE, MGMT_MAX_PAGE_SIZE);
    let after: { at: Date; id: string } | undefined;
    if (q.after) {
      const v = decodeCursor(q.after, 2);
      if (!v || typeof v[0] !== 'string' || typeof v[1] !== 'string' || Number.isNaN(Date.parse(v[0]))) {
        throw errors.invalidParams('The "after" cursor is not valid.', [{ field: 'after', message: 'is not a cursor returned by this API', type: 'invalid' }]);
      }
      after = { at: new Date(v[0]), id: v[1] };
    }
    const rows = await listCommits(db, q.environment, { promoted: q.promoted, types: contentTypes(q.resource_type), key: q.resource_id }, { after, limit: pageSize });
    const items = rows.slice(0, pageSize);
    const last = items[items.length - 1];
    return {
      entries: items.map(commitOut),
      page_info: { after: rows.length > pageSize && last ? encodeCursor([last.createdAt, last.id]) : null, before: null, page_size: pageSize },
    };
  });

  app.get('/v1/commits/:id', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Get a commit (Knock mgmt: getCommit)',
      params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
      response: { 200: CommitSchema },
    },
  }, async (request) => {
    const found = await findCommit(environments, request.params.id);
    if (!found) throw errors.notFound(`The commit "${request.params.id}"`);
    return commitOut(found);
  });

  app.put('/v1/commits', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Commit all uncommitted changes (Knock mgmt: commitAllChanges)',
      querystring: Type.Object({
        environment: EnvironmentQuery,
        branch: Type.Optional(Type.String()),
        commit_message: Type.Optional(Type.String({ maxLength: 1000 })),
        allow_empty: Type.Optional(Type.Boolean()),
        resource_type: Type.Optional(ResourceTypes),
        resource_id: Type.Optional(Type.String({ maxLength: 255 })),
      }),
      response: { 200: Type.Object({ result: Type.String() }) },
    },
  }, async (request) => {
    const q = request.query;
    const db = await environmentDb(environments, q.environment);
    checkEditable(environments, q.environment, 'Committing changes');
    if (q.resource_id !== undefined && !q.resource_type) {
      throw errors.invalidParams('resource_id must be used together with resource_type.', [{ field: 'resource_id', message: 'needs resource_type', type: 'invalid' }]);
    }
    await commitDrafts(db, { environment: q.environment, message: q.commit_message ?? '', author: authorOf(request), now: deps.clock.now(), types: contentTypes(q.resource_type), key: q.resource_id });
    return { result: 'success' };
  });

  app.put('/v1/commits/promote', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Promote every commit the environment has not received from the one before it (Knock mgmt: promoteAllCommits)',
      querystring: Type.Object({
        to_environment: Type.String({ minLength: 1 }),
        branch: Type.Optional(Type.String()),
        resource_type: Type.Optional(ResourceTypes),
        resource_id: Type.Optional(Type.String({ maxLength: 255 })),
      }),
      response: { 200: Type.Object({ result: Type.String() }) },
    },
  }, async (request) => {
    const q = request.query;
    await environmentDb(environments, q.to_environment);
    try {
      await promoteAll(environments, q.to_environment, { types: contentTypes(q.resource_type), key: q.resource_id }, deps.clock.now());
    } catch (err) {
      if (err instanceof PromotionError) throw errors.invalidParams(err.message, [{ field: 'to_environment', message: err.message, type: 'invalid' }]);
      throw err;
    }
    return { result: 'success' };
  });

  app.put('/v1/commits/:id/promote', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Promote one commit to the next environment (Knock mgmt: promoteOneCommit)',
      params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
      response: { 200: Type.Object({ commit: CommitSchema }) },
    },
  }, async (request) => {
    const found = await findCommit(environments, request.params.id);
    if (!found) throw errors.notFound(`The commit "${request.params.id}"`);
    try {
      return { commit: commitOut(await promoteOne(environments, found, deps.clock.now())) };
    } catch (err) {
      if (err instanceof PromotionError) throw errors.invalidParams(err.message, [{ field: 'id', message: err.message, type: 'invalid' }]);
      throw err;
    }
  });
}
