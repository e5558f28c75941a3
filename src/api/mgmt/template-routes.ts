import type { ApiDeps, App } from '../types.js';

/** Email layouts, partials, translations and template previews (issue 13). */
export function registerMgmtTemplateRoutes(_app: App, _deps: ApiDeps): void {
  // Routes are added here.
}
