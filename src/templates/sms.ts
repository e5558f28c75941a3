/**
 * Renders an `sms` channel template (`text_body`, Liquid) into Knock's SMS MessageContents data
 * `{to, body}`. The recipient's number comes from the caller (its `phone_number`, or the
 * template's `settings.to_number` rendered with the same scope).
 */
import { renderString, type LiquidScope } from './liquid.js';
import type { TemplateContent } from './content.js';

export interface SmsContent { to: string; body: string }

export async function renderSms(template: Record<string, unknown>, scope: LiquidScope, to: string, content?: TemplateContent | null): Promise<SmsContent> {
  const source = typeof template.text_body === 'string' ? template.text_body : '';
  return { to, body: (await renderString(source, scope, 'text_body', { content })).trim() };
}
