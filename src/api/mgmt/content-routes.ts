import type { ApiDeps, App } from '../types.js';

/** Workflow upserts, validation, activation, test runs, commits and promotion (issue 13). */
export function registerMgmtContentRoutes(_app: App, _deps: ApiDeps): void {
  // Routes are added here.
}
