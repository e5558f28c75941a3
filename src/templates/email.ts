/**
 * Renders an `email` channel template (reference §6: `subject`, `html_body`, `text_body`) and
 * the step's `channel_overrides` (`from_address`, `from_name`, `reply_to_address`, `cc_address`,
 * `bcc_address`, `to_address`, Liquid allowed) into Knock's email MessageContents data:
 * `{from, to, subject_line, html_body, text_body, cc, bcc, reply_to}`.
 *
 * Values interpolated into `html_body` are HTML-escaped, so recipient input cannot inject markup;
 * the subject and text body are plain text and render unescaped.
 */
import { renderString, type LiquidScope } from './liquid.js';

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

async function optional(source: unknown, scope: LiquidScope, field: string, escapeOutput = false): Promise<string | null> {
  const s = text(source);
  if (s === null) return null;
  const out = (await renderString(s, scope, field, { escapeOutput })).trim();
  return out === '' ? null : out;
}

/**
 * Wraps a rendered body in its layout: the layout renders with the step's scope plus `content`,
 * the body (already rendered and, for HTML, escaped). A layout is operator configuration, so its
 * own output is not escaped. No body, no layout.
 */
async function inLayout(body: string | null, layout: string | null | undefined, scope: LiquidScope, field: string): Promise<string | null> {
  if (body === null || !layout) return body;
  return (await renderString(layout, { ...scope, content: body } as LiquidScope, field)).trim();
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
  defaults: { settings: Record<string, unknown>; to: string; layout?: { html: string | null; text: string | null } | null },
): Promise<EmailContent> {
  const o = overrides ?? {};
  const s = defaults.settings;
  const fromAddress = (await optional(o.from_address, scope, 'channel_overrides.from_address')) ?? text(s.from_address);
  const fromName = (await optional(o.from_name, scope, 'channel_overrides.from_name')) ?? text(s.from_name);
  return {
    from: mailbox(fromAddress, fromName) ?? text(s.from),
    to: (await optional(o.to_address, scope, 'channel_overrides.to_address')) ?? defaults.to,
    subject_line: (await optional(template.subject, scope, 'subject')) ?? '',
    html_body: await inLayout(await optional(template.html_body, scope, 'html_body', true), defaults.layout?.html, scope, 'layout.html_layout'),
    text_body: await inLayout(await optional(template.text_body, scope, 'text_body'), defaults.layout?.text, scope, 'layout.text_layout'),
    cc: await optional(o.cc_address, scope, 'channel_overrides.cc_address'),
    bcc: await optional(o.bcc_address, scope, 'channel_overrides.bcc_address'),
    reply_to: (await optional(o.reply_to_address, scope, 'channel_overrides.reply_to_address')) ?? text(s.reply_to),
  };
}
