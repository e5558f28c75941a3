/**
 * Knock's management API (the contract: Knock's mgmt OpenAPI document), served by the same
 * app under `/mgmt`, so knock-cli (`--api-origin http://host:port/mgmt`) and @knocklabs/mgmt
 * (`baseURL: 'http://host:port/mgmt'`) work unchanged: they join `/v1/...` onto the origin.
 * Every route here is `service_token`: a service token, never an API key (plugins/auth.ts).
 * Routes stay thin; what they answer is built in src/workflows/mgmt-*.ts.
 */
import type { ApiDeps, App } from '../types.js';
import { registerWhoamiRoute } from './whoami.js';
import { registerMgmtWorkflowRoutes } from './workflows.js';
import { registerMgmtContentRoutes } from './content-routes.js';
import { registerMgmtTemplateRoutes } from './template-routes.js';
import { registerMgmtEnvironmentRoutes } from './environment-routes.js';
import { registerMgmtChannelRoutes } from './channel-routes.js';

export const MGMT_PREFIX = '/mgmt';

export async function registerMgmtApi(app: App, deps: ApiDeps): Promise<void> {
  await app.register(async (mgmt) => {
    const scoped = mgmt as unknown as App;
    registerWhoamiRoute(scoped);
    registerMgmtWorkflowRoutes(scoped, deps);
    registerMgmtContentRoutes(scoped, deps);
    registerMgmtTemplateRoutes(scoped, deps);
    registerMgmtEnvironmentRoutes(scoped, deps);
    registerMgmtChannelRoutes(scoped, deps);
  }, { prefix: MGMT_PREFIX });
}
