import type { ApiDeps, App } from '../types.js';
import { registerUserRoutes } from './users.js';
import { registerObjectRoutes } from './objects.js';
import { registerTenantRoutes } from './tenants.js';
import { registerMessageRoutes } from './messages.js';
import { registerFeedRoutes } from './feeds.js';
import { registerWorkflowRoutes } from './workflows.js';
import { registerWorkflowEventRoutes } from './workflow-events.js';
import { registerRunRoutes } from './runs.js';
import { registerBulkOperationRoutes } from './bulk-operations.js';
import { registerPreferenceRoutes } from './preferences.js';
import { registerEnvironmentPreferenceRoutes } from './environment-preferences.js';
import { registerPreferenceExplainRoutes } from './preference-explain.js';
import { registerSubscriptionRoutes } from './subscriptions.js';
import { registerScheduleRoutes } from './schedules.js';
import { registerMessageActivityRoutes } from './message-activities.js';
import { registerUserBulkRoutes } from './users-bulk.js';
import { registerObjectBulkRoutes } from './objects-bulk.js';
import { registerTenantBulkRoutes } from './tenants-bulk.js';
import { registerAudienceRoutes } from './audiences.js';
import { registerUserMergeRoute } from './user-merge.js';
import { registerDeliveryLogRoutes } from './delivery-logs.js';
import { registerProviderWebhookRoutes } from './provider-webhooks.js';

/** One route module per resource; each is thin and calls the store or the engine. */
export function registerRoutes(app: App, deps: ApiDeps): void {
  registerUserRoutes(app, deps);
  registerObjectRoutes(app, deps);
  registerTenantRoutes(app, deps);
  registerMessageRoutes(app, deps);
  registerFeedRoutes(app, deps);
  registerWorkflowRoutes(app, deps);
  registerWorkflowEventRoutes(app, deps);
  registerRunRoutes(app, deps);
  registerBulkOperationRoutes(app, deps);
  registerPreferenceRoutes(app, deps);
  registerEnvironmentPreferenceRoutes(app, deps);
  registerPreferenceExplainRoutes(app, deps);
  registerSubscriptionRoutes(app, deps);
  registerScheduleRoutes(app, deps);
  registerMessageActivityRoutes(app, deps);
  registerUserBulkRoutes(app, deps);
  registerObjectBulkRoutes(app, deps);
  registerTenantBulkRoutes(app, deps);
  registerAudienceRoutes(app, deps);
  registerUserMergeRoute(app, deps);
  registerDeliveryLogRoutes(app, deps);
  registerProviderWebhookRoutes(app, deps);
}
