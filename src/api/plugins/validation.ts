import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { App } from '../types.js';

/**
 * Two validators: query strings arrive as text, so they are coerced (`page_size=5` -> 5, a single
 * `status=x` -> ['x']); JSON bodies are typed already and are NOT coerced, so `"recipients": "ada"`
 * is a 422 rather than silently becoming `["ada"]`.
 */
export function registerValidation(app: App): void {
  const make = (coerceTypes: boolean | 'array') => {
    const ajv = new Ajv({ allErrors: true, coerceTypes, useDefaults: true, removeAdditional: false, strict: false });
    (addFormats as unknown as (a: Ajv) => void)(ajv);
    return ajv;
  };
  const bodyAjv = make(false);
  const textAjv = make('array');
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema));
}
