import type { ApiDeps, App } from '../types.js';
import { registerUserRoutes } from './users.js';
import { registerObjectRoutes } from './objects.js';
import { registerTenantRoutes } from './tenants.js';
import { registerMessageRoutes } from './messages.js';
import { registerFeedRoutes } from './feeds.js';
import { registerWorkflowRoutes } from './workflows.js';
import { registerRunRoutes } from './runs.js';
import { registerBulkOperationRoutes } from './bulk-operations.js';
import { registerPreferenceRoutes } from './preferences.js';
import { registerSubscriptionRoutes } from './subscriptions.js';

/** One route module per resource; each is thin and calls the store or the engine. */
export function registerRoutes(app: App, deps: ApiDeps): void {
  registerUserRoutes(app, deps);
  registerObjectRoutes(app, deps);
  registerTenantRoutes(app, deps);
  registerMessageRoutes(app, deps);
  registerFeedRoutes(app, deps);
  registerWorkflowRoutes(app, deps);
  registerRunRoutes(app, deps);
  registerBulkOperationRoutes(app, deps);
  registerPreferenceRoutes(app, deps);
  registerSubscriptionRoutes(app, deps);
}
