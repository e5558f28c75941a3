import type { ApiDeps } from '../types.js';
import { ENVIRONMENTS } from '../../domain/environments.js';
import { errors } from '../../domain/errors.js';
import { singleStoreDirectory, type EnvironmentDirectory } from '../../environments/directory.js';
import type { Db } from '../../store/db.js';

/** The environments a management route works on (one store for all when none were given). */
export function environmentsOf(deps: Pick<ApiDeps, 'db' | 'keys' | 'environments'>): EnvironmentDirectory {
  return deps.environments ?? singleStoreDirectory(deps.db, ENVIRONMENTS, deps.keys);
}

/** `?environment=` checked: a 422 naming the known slugs for an unknown one. */
export function checkEnvironment(environments: EnvironmentDirectory, environment: string): void {
  if (environments.has(environment)) return;
  throw errors.invalidParams(`Unknown environment "${environment}".`, [{ field: 'environment', message: `must be one of ${environments.slugs.join(', ')}`, type: 'invalid' }]);
}

/** The store of a checked environment. */
export async function environmentDb(environments: EnvironmentDirectory, environment: string): Promise<Db> {
  checkEnvironment(environments, environment);
  return environments.db(environment);
}
