/**
 * Renders an `in_app_feed` channel template into the content blocks Knock's feed returns
 * (reference §3.6, §6). Knock's React components find blocks by name: `body` (markdown,
 * `rendered` is HTML), `action_url` (text) and `actions` (button_set with `primary` /
 * `secondary` buttons), so those names are part of the contract.
 *
 * Values interpolated into the markdown body are HTML-escaped, so trigger data, names and other
 * recipient input cannot inject markup into the rendered HTML; HTML written by the template's
 * author passes through, as marked renders it.
 */
import { Marked } from 'marked';
import { renderFields, type FieldTemplate, type LiquidScope } from './liquid.js';
import type { TemplateContent } from './content.js';

export interface InAppFeedTemplate {
  markdown_body: string;
  action_url?: string | null;
  action_buttons?: { label: string; action: string }[] | null;
}

export type ContentBlock =
  | { name: string; type: 'markdown' | 'text'; content: string; rendered: string }
  | { name: string; type: 'button_set'; buttons: { name: string; label: string; action: string }[] };

// A private instance so nothing else can reconfigure the global `marked`.
const markdown = new Marked({ gfm: true, async: false });

/** Knock names the first two buttons `primary` and `secondary`; further ones are numbered. */
const buttonName = (index: number) => ['primary', 'secondary'][index] ?? `button_${index + 1}`;

/** Throws TemplateRenderError naming the failing field (`markdown_body`, `action_buttons[0].label`, ...). */
export async function renderInAppFeed(template: InAppFeedTemplate, scope: LiquidScope, content?: TemplateContent | null): Promise<ContentBlock[]> {
  // Every field in one round trip to a render process.
  const fields: Record<string, FieldTemplate> = { markdown_body: { source: template.markdown_body, escapeOutput: true } };
  const hasUrl = template.action_url != null && template.action_url !== '';
  if (hasUrl) fields.action_url = { source: template.action_url! };
  const buttons = template.action_buttons ?? [];
  buttons.forEach((button, i) => {
    fields[`action_buttons[${i}].label`] = { source: button.label };
    fields[`action_buttons[${i}].action`] = { source: button.action };
  });
  const out = await renderFields(fields, scope, content);
  const body = out.markdown_body;
  const blocks: ContentBlock[] = [
    { name: 'body', type: 'markdown', content: body, rendered: (markdown.parse(body) as string).trim() },
  ];
  if (hasUrl) {
    const url = out.action_url.trim();
    blocks.push({ name: 'action_url', type: 'text', content: url, rendered: url });
  }
  if (buttons.length > 0) {
    blocks.push({
      name: 'actions',
      type: 'button_set',
      buttons: buttons.map((_, i) => ({ name: buttonName(i), label: out[`action_buttons[${i}].label`], action: out[`action_buttons[${i}].action`].trim() })),
    });
  }
  return blocks;
}
