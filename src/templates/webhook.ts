/**
 * Renders an `http` (webhook) channel template (`method`, `url`, `headers` / `query_params` as
 * `[{key, value}]` or an object, `body`; all Liquid) into the request the webhook provider sends:
 * `{method, url, headers, query_params, body}`. `body` is sent as written after rendering (usually
 * JSON); without one the provider sends the message's default JSON payload.
 */
import { renderString, type LiquidScope } from './liquid.js';
import type { TemplateContent } from './content.js';

export interface WebhookContent {
  method: string;
  url: string;
  headers: Record<string, string>;
  query_params: Record<string, string>;
  body: string | null;
}

async function pairs(value: unknown, scope: LiquidScope, field: string, content: TemplateContent | null | undefined): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((p) => [String((p as { key?: unknown }).key ?? ''), (p as { value?: unknown }).value])
    : value && typeof value === 'object' ? Object.entries(value) : [];
  for (const [k, v] of entries) {
    if (k === '') continue;
    out[k] = await renderString(String(v ?? ''), scope, `${field}.${k}`, { content });
  }
  return out;
}

export async function renderWebhook(template: Record<string, unknown>, scope: LiquidScope, content?: TemplateContent | null): Promise<WebhookContent> {
  const method = typeof template.method === 'string' && template.method !== '' ? template.method.toUpperCase() : 'POST';
  const url = typeof template.url === 'string' ? (await renderString(template.url, scope, 'url', { content })).trim() : '';
  if (url === '') throw new Error('the webhook template has no url');
  const bodySource = template.body == null ? null : typeof template.body === 'string' ? template.body : JSON.stringify(template.body);
  return {
    method,
    url,
    headers: await pairs(template.headers, scope, 'headers', content),
    query_params: await pairs(template.query_params, scope, 'query_params', content),
    body: bodySource === null ? null : await renderString(bodySource, scope, 'body', { content }),
  };
}
