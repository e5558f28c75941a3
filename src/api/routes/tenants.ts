import type { ApiDeps, App } from '../types.js';

export function registerTenantRoutes(_app: App, _deps: ApiDeps): void {
  // Routes for this resource are being written in this issue.
}
