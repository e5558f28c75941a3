/**
 * The dashboard: its page (static.ts) and its API under /dashboard/api (sessions and read
 * endpoints), served by the listening (first environment's) app. The API reads the session's
 * environment through the environment directory.
 */
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../package-root.js';
import type { ApiDeps, App } from '../types.js';
import { dashboardHeaders, registerDashboardPage } from './static.js';
import { registerSessionRoutes } from './session-routes.js';
import { registerOverviewRoutes } from './overview.js';
import { registerWorkflowRoutes } from './workflow-routes.js';
import { registerRunRoutes } from './run-routes.js';
import { registerMessageRoutes } from './message-routes.js';
import { registerExplainRoute } from './explain-route.js';
import { registerChannelRoutes } from './channel-routes.js';

/** Where `npm run build` writes the dashboard (scripts/build-dashboard.mjs). */
export const DEFAULT_DASHBOARD_DIR = join(PACKAGE_ROOT, 'dashboard', 'dist');

export async function registerDashboard(app: App, deps: ApiDeps): Promise<void> {
  await registerDashboardPage(app, deps.dashboard?.assetsDir ?? DEFAULT_DASHBOARD_DIR);
  const dashboard = deps.dashboard ?? { environment: deps.environments?.slugs[0] ?? 'development' };
  await app.register(async (scope) => {
    const api = scope as unknown as App;
    // Answers hold an environment's data: never cached, never sniffed or framed. Set before the
    // handler, so the event stream (which writes its own head) carries them too.
    api.addHook('onRequest', async (_request, reply) => {
      dashboardHeaders(reply);
      reply.header('cache-control', 'no-store');
    });
    registerSessionRoutes(api, deps, dashboard);
    registerOverviewRoutes(api, deps);
    registerWorkflowRoutes(api, deps);
    registerRunRoutes(api, deps);
    registerMessageRoutes(api, deps);
    registerExplainRoute(api, deps);
    registerChannelRoutes(api, deps);
  });
}
