import { getPath, splitPath } from '../../domain/paths.js';
import { renderString, type LiquidScope } from '../../templates/liquid.js';

const ROOTS = ['data', 'recipient', 'actor', 'tenant', 'vars'];

/**
 * A batch or throttle key (§5.4, §5.6): a Liquid template when it contains `{{`, otherwise a
 * path read from `data` (or from a named root such as `actor.id`). Absent = '' (no key).
 */
export async function resolveStepKey(setting: unknown, scope: LiquidScope): Promise<string> {
  if (typeof setting !== 'string' || setting.trim() === '') return '';
  if (setting.includes('{{') || setting.includes('{%')) return (await renderString(setting, scope, 'key')).trim();
  const path = ROOTS.includes(splitPath(setting)[0] ?? '') ? setting : `data.${setting}`;
  const value = getPath(scope, path);
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}
