/**
 * Renders an `email` channel template (reference §6: `subject`, `html_body`, `text_body`) and
 * the step's `channel_overrides` (`from_address`, `from_name`, `reply_to_address`, `cc_address`,
 * `bcc_address`, `to_address`, Liquid allowed) into Knock's email MessageContents data:
 * `{from, to, subject_line, html_body, text_body, cc, bcc, reply_to}`.
 *
 * Values interpolated into `html_body` are HTML-escaped, so recipient input cannot inject markup;
 * the subject and text body are plain text and render unescaped.
 */
import { renderFields, renderString, type FieldTemplate, type LiquidScope } from './liquid.js';
import type { TemplateContent } from './content.js';

export interface EmailContent {
  from: string | null;
  to: string;
  subject_line: string;
  html_body: string | null;
  text_body: string | null;
  cc: string | null;
  bcc: string | null;
  reply_to: string | null;
}

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** Every optional field that is a non-empty string, as templates to render together. */
function present(fields: Record<string, [unknown, boolean?]>): Record<string, FieldTemplate> {
  const out: Record<string, FieldTemplate> = {};
  for (const [name, [source, escapeOutput]] of Object.entries(fields)) {
    const s = text(source);
    if (s !== null) out[name] = { source: s, escapeOutput: escapeOutput ?? false };
  }
  return out;
}

/**
 * Wraps a rendered body in its layout: the layout renders with the step's scope plus `content`,
 * the body (already rendered and, for HTML, escaped). A layout is operator configuration, so its
 * own output is not escaped. No body, no layout.
 */
async function inLayout(body: string | null, layout: string | null | undefined, scope: LiquidScope, field: string, content: TemplateContent | null | undefined): Promise<string | null> {
  if (body === null || !layout) return body;
  return (await renderString(layout, { ...scope, content: body } as LiquidScope, field, { content })).trim();
}

/** `Name <address>` when there is a name, else the address. */
const mailbox = (address: string | null, name: string | null) => (address && name ? `"${name.replace(/"/g, '')}" <${address}>` : address);

/**
 * `defaults` are the channel's settings (`from`, or `from_address` + `from_name`); `to` is the
 * recipient's email. Throws TemplateRenderError naming the failing field.
 */
export async function renderEmail(
  template: Record<string, unknown>,
  overrides: Record<string, unknown> | null | undefined,
  scope: LiquidScope,
  defaults: { settings: Record<string, unknown>; to: string; layout?: { html: string | null; text: string | null } | null; content?: TemplateContent | null },
): Promise<EmailContent> {
  const o = overrides ?? {};
  const s = defaults.settings;
  // Every field in one round trip to a render process; empty results count as absent.
  const rendered = await renderFields(present({
    'channel_overrides.from_address': [o.from_address],
    'channel_overrides.from_name': [o.from_name],
    'channel_overrides.to_address': [o.to_address],
    subject: [template.subject],
    html_body: [template.html_body, true],
    text_body: [template.text_body],
    'channel_overrides.cc_address': [o.cc_address],
    'channel_overrides.bcc_address': [o.bcc_address],
    'channel_overrides.reply_to_address': [o.reply_to_address],
  }), scope, defaults.content);
  const field = (name: string): string | null => {
    const out = rendered[name]?.trim();
    return out ? out : null;
  };
  const fromAddress = field('channel_overrides.from_address') ?? text(s.from_address);
  const fromName = field('channel_overrides.from_name') ?? text(s.from_name);
  return {
    from: mailbox(fromAddress, fromName) ?? text(s.from),
    to: field('channel_overrides.to_address') ?? defaults.to,
    subject_line: field('subject') ?? '',
    html_body: await inLayout(field('html_body'), defaults.layout?.html, scope, 'layout.html_layout', defaults.content),
    text_body: await inLayout(field('text_body'), defaults.layout?.text, scope, 'layout.text_layout', defaults.content),
    cc: field('channel_overrides.cc_address'),
    bcc: field('channel_overrides.bcc_address'),
    reply_to: field('channel_overrides.reply_to_address') ?? text(s.reply_to),
  };
}
