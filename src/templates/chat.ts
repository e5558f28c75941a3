/**
 * Renders a `chat` channel template (`markdown_body`, `json_body`, `summary`; Liquid) into Knock's
 * chat MessageContents data, extended with every connection of the recipient:
 * `{connection, connections, template: {summary, blocks: [{name: 'body', type: 'markdown', content}], json_content}}`.
 * `json_body` (a JSON string or object, e.g. Slack Block Kit) renders to `json_content`; providers
 * send it as the message body when present, else the markdown text.
 */
import { renderFields, type LiquidScope } from './liquid.js';
import type { TemplateContent } from './content.js';

export interface ChatContent {
  connection: Record<string, unknown>;
  connections: Record<string, unknown>[];
  template: {
    summary: string | null;
    blocks: { name: string; type: 'markdown' | 'text'; content: string }[];
    json_content: Record<string, unknown> | null;
  };
}

export async function renderChat(template: Record<string, unknown>, scope: LiquidScope, connections: Record<string, unknown>[], content?: TemplateContent | null): Promise<ChatContent> {
  const hasJson = template.json_body != null && template.json_body !== '';
  // Every field in one round trip to a render process.
  const rendered = await renderFields({
    markdown_body: { source: typeof template.markdown_body === 'string' ? template.markdown_body : '' },
    summary: { source: typeof template.summary === 'string' ? template.summary : '' },
    json_body: { source: !hasJson ? '' : typeof template.json_body === 'string' ? template.json_body : JSON.stringify(template.json_body) },
  }, scope, content);
  const markdown = rendered.markdown_body.trim();
  const summary = typeof template.summary === 'string' ? rendered.summary.trim() : null;
  let json: Record<string, unknown> | null = null;
  if (hasJson) {
    const text = rendered.json_body.trim();
    let parsed: unknown;
    try { parsed = JSON.parse(text); } catch { throw new Error(`json_body did not render to valid JSON: ${text.slice(0, 200)}`); }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('json_body must render to a JSON object');
    json = parsed as Record<string, unknown>;
  }
  return {
    connection: connections[0],
    connections,
    template: { summary: summary || null, blocks: markdown ? [{ name: 'body', type: 'markdown', content: markdown }] : [], json_content: json },
  };
}
