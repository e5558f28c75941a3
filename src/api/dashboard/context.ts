/**
 * The environment a dashboard request works on: its session's, or for the secret key the
 * environment of the app that authenticated it. Its store and engine come from the environment
 * directory (the listening app serves the dashboard for every environment).
 */
import type { FastifyRequest } from 'fastify';
import type { Engine } from '../../engine/engine.js';
import type { Db } from '../../store/db.js';
import { environmentsOf } from '../mgmt/environments.js';
import type { ApiDeps } from '../types.js';

export interface DashboardContext {
  environment: string;
  db: Db;
  engine: Engine;
}

export function dashboardContext(deps: ApiDeps): (request: FastifyRequest) => Promise<DashboardContext> {
  const directory = environmentsOf(deps);
  const own = deps.dashboard?.environment ?? directory.slugs[0];
  return async (request) => {
    const environment = request.dashboardSession?.environment ?? own;
    if (environment === own) return { environment, db: deps.db, engine: deps.engine };
    return { environment, db: await directory.db(environment), engine: directory.engine?.(environment) ?? deps.engine };
  };
}
