import type { ApiDeps, App } from '../types.js';

/** Link-click redirects and open pixels of tracked email messages (issue 13). */
export function registerTrackingRoutes(_app: App, _deps: ApiDeps): void {
  // Routes are added here.
}
