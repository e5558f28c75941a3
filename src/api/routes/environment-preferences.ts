import { deleteEnvironmentPreferenceSet, ENVIRONMENT_DEFAULT_SET, getEnvironmentPreferenceSet, writeEnvironmentPreferenceSet } from '../../store/environment-preferences.js';
import type { ApiDeps, App } from '../types.js';
import { PreferenceSetBody, preferenceSetWrite, shape } from './preferences.js';

/*
 * The environment default preference set (Herald extension; knock-api.md §5.11). Knock edits it
 * in its dashboard; Herald has no dashboard, so it is managed here with the secret key. It is the
 * lowest layer under every recipient's and tenant's preferences, read by the worker at each
 * channel step, so a change applies to the next step in every process.
 */

const PATH = '/v1/environment/preferences/default';
const tags = ['preferences'];

export function registerEnvironmentPreferenceRoutes(app: App, deps: ApiDeps): void {
  app.get(PATH, {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Get the environment default preference set; unset answers with null fields (Herald extension)' },
  }, async () => {
    const row = await getEnvironmentPreferenceSet(deps.db);
    return shape(ENVIRONMENT_DEFAULT_SET, row?.preferences ?? null);
  });

  app.put(PATH, {
    config: { auth: 'secret' },
    schema: {
      tags,
      summary: 'Set the environment default preference set: replaces, or deep-merges with __persistence_strategy__ "merge" (Herald extension)',
      body: PreferenceSetBody,
    },
  }, async (request) => {
    const { preferences, strategy } = preferenceSetWrite(request.body as Record<string, unknown>);
    const row = await deps.db.transaction((tx) => writeEnvironmentPreferenceSet(tx, preferences, strategy, deps.clock.now()));
    return shape(ENVIRONMENT_DEFAULT_SET, row.preferences);
  });

  app.delete(PATH, {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Unset the environment default preference set (Herald extension)' },
  }, async (_request, reply) => {
    await deleteEnvironmentPreferenceSet(deps.db);
    return reply.code(204).send();
  });
}
