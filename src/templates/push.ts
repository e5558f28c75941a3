/**
 * Renders a `push` channel template (`title`, `text_body`, `settings.delivery_type`,
 * `settings.payload_overrides`) into Knock's push MessageContents data, extended with every
 * token of the recipient: `{token, tokens, title, body, data, delivery_type}`. `data` is the
 * payload's data (the run's data plus `knock_message_id`, which Knock puts in every push payload
 * for engagement callbacks), merged with the rendered `payload_overrides`.
 */
import { renderFields, type LiquidScope } from './liquid.js';
import type { TemplateContent } from './content.js';

export interface PushContent {
  token: string;
  tokens: string[];
  title: string;
  body: string;
  data: Record<string, unknown>;
  delivery_type: 'content' | 'silent';
}

export async function renderPush(template: Record<string, unknown>, scope: LiquidScope, tokens: string[], messageId: string, content?: TemplateContent | null): Promise<PushContent> {
  const settings = (template.settings ?? {}) as Record<string, unknown>;
  // Every field in one round trip to a render process.
  const rendered = await renderFields({
    title: { source: typeof template.title === 'string' ? template.title : '' },
    text_body: { source: typeof template.text_body === 'string' ? template.text_body : '' },
    'settings.payload_overrides': {
      source: settings.payload_overrides == null ? '' : typeof settings.payload_overrides === 'string' ? settings.payload_overrides : JSON.stringify(settings.payload_overrides),
    },
  }, scope, content);
  const title = rendered.title.trim();
  const body = rendered.text_body.trim();
  let overrides: Record<string, unknown> = {};
  if (settings.payload_overrides != null) {
    const text = rendered['settings.payload_overrides'].trim();
    try {
      const parsed = text === '' ? {} : JSON.parse(text);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) overrides = parsed;
      else throw new Error('not an object');
    } catch {
      throw new Error(`settings.payload_overrides did not render to a JSON object: ${text.slice(0, 200)}`);
    }
  }
  const data = scope.data && typeof scope.data === 'object' ? scope.data as Record<string, unknown> : {};
  return {
    token: tokens[0],
    tokens,
    title,
    body,
    data: { ...data, knock_message_id: messageId, ...overrides },
    delivery_type: settings.delivery_type === 'silent' ? 'silent' : 'content',
  };
}
