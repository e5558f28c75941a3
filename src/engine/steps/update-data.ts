import { renderJsonObject } from './render-json.js';
import type { StepHandler } from './types.js';

/** `update_data` (§5.9): the rendered `settings.data` is shallow-merged into the run's data. */
export const updateDataStep: StepHandler = async ({ step, scope }) => {
  const patch = await renderJsonObject(step.settings?.data, scope, 'settings.data');
  return { kind: 'completed', data: { ...scope.data, ...patch }, event: { updated_keys: Object.keys(patch) } };
};
