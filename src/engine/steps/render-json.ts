import { renderString, type LiquidScope } from '../../templates/liquid.js';

/**
 * Renders a step setting that Knock defines as "a JSON/Liquid string" (update_data,
 * update_properties, trigger_workflow data) and parses it as a JSON object. A setting given
 * as an object is rendered as its JSON text, so Liquid inside string values works too.
 */
export async function renderJsonObject(template: unknown, scope: LiquidScope, field: string): Promise<Record<string, unknown>> {
  const source = typeof template === 'string' ? template : JSON.stringify(template ?? {});
  const text = (await renderString(source, scope, field)).trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${field} did not render to valid JSON: ${text.slice(0, 200)}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${field} must render to a JSON object`);
  return parsed as Record<string, unknown>;
}
