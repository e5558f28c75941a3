import { Type } from '@sinclair/typebox';
import type { ApiDeps, App } from '../types.js';
import { errors } from '../../domain/errors.js';
import { environmentCreatedAt } from '../../store/environment-info.js';
import type { EnvironmentDirectory } from '../../environments/directory.js';
import { checkEnvironment, environmentsOf } from './environments.js';
import { PageInfo } from './schemas.js';

const Environment = Type.Object({
  created_at: Type.String({ format: 'date-time' }),
  deleted_at: Type.Null(),
  hide_pii_data: Type.Boolean(),
  label_color: Type.Union([Type.String(), Type.Null()]),
  last_commit_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  name: Type.String(),
  order: Type.Integer(),
  owner: Type.Literal('system'),
  slug: Type.String(),
  updated_at: Type.String({ format: 'date-time' }),
});

/** "development" → "Development", "qa-eu" → "Qa eu": Knock's environment names are labels. */
const label = (slug: string) => slug.charAt(0).toUpperCase() + slug.slice(1).replaceAll(/[-_]/g, ' ');

async function describeEnvironment(environments: EnvironmentDirectory, slug: string) {
  const createdAt = (await environmentCreatedAt(await environments.db(slug))).toISOString();
  return {
    created_at: createdAt,
    deleted_at: null,
    hide_pii_data: false,
    label_color: null,
    last_commit_at: null,
    name: label(slug),
    order: environments.slugs.indexOf(slug),
    owner: 'system' as const,
    slug,
    updated_at: createdAt,
  };
}

/**
 * Environments (listEnvironments, getEnvironment) and the key exchange (exchangeForApiKey): a
 * service token holder gets an environment's secret key, e.g. to run a test trigger there.
 */
export function registerMgmtEnvironmentRoutes(app: App, deps: ApiDeps): void {
  const environments = environmentsOf(deps);

  app.get('/v1/environments', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'List environments (Knock mgmt: listEnvironments)',
      querystring: Type.Object({ after: Type.Optional(Type.String()), before: Type.Optional(Type.String()), limit: Type.Optional(Type.Integer({ minimum: 1 })) }),
      response: { 200: Type.Object({ entries: Type.Array(Environment), page_info: PageInfo }) },
    },
  }, async () => ({
    // A handful at most: one page, in promotion order.
    entries: await Promise.all(environments.slugs.map((slug) => describeEnvironment(environments, slug))),
    page_info: { after: null, before: null, page_size: environments.slugs.length },
  }));

  app.get('/v1/environments/:environment_slug', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: 'Get an environment (Knock mgmt: getEnvironment)',
      params: Type.Object({ environment_slug: Type.String({ minLength: 1 }) }),
      response: { 200: Environment },
    },
  }, async (request) => {
    const slug = request.params.environment_slug;
    if (!environments.has(slug)) throw errors.notFound(`Environment "${slug}"`);
    return describeEnvironment(environments, slug);
  });

  app.post('/v1/api_keys/exchange', {
    config: { auth: 'service_token' },
    schema: {
      tags: ['management'], summary: "Exchange the service token for an environment's secret key (Knock mgmt: exchangeForApiKey)",
      querystring: Type.Object({ environment: Type.String({ minLength: 1 }) }),
      response: { 200: Type.Object({ api_key: Type.String() }) },
    },
  }, async (request) => {
    checkEnvironment(environments, request.query.environment);
    return { api_key: (await environments.keys(request.query.environment)).secret };
  });
}
