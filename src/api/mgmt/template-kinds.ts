/**
 * The content kinds of templates managed through the management API: partials, translations
 * and email layouts. Each has one validation (whatever the source), a way to make a committed
 * body what renders read (applyCommitted: the tables of migration 025 and email_layouts), and
 * Knock's mgmt response shape.
 */
import { Liquid } from 'liquidjs';
import type { FieldError } from '../../domain/errors.js';
import type { Db, Queryable } from '../../store/db.js';
import { upsertPartial, type PartialRow } from '../../store/partials.js';
import { upsertTranslation, type TranslationRow } from '../../store/translations.js';
import { upsertManagedEmailLayout, type ManagedEmailLayoutRow } from '../../store/configured-channels.js';
import { notifyTemplateContentChanged } from '../../store/template-content.js';
import { contentSha } from '../../templates/content.js';
import { PARTIAL_MAX_CHARS, TEMPLATE_SOURCE_MAX_CHARS, TRANSLATION_MAX_CHARS } from '../../templates/render-limits.js';

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export const PARTIAL_TYPES = ['html', 'text', 'json', 'markdown'] as const;
const KEY_RE = /^[a-z0-9_-]+$/;
const LOCALE_RE = /^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$/;
const NAMESPACE_RE = /^[A-Za-z0-9_-]*$/;

/** Parses (never renders) Liquid to report syntax errors; the source's length is bounded first. */
const syntax = new Liquid({ parseLimit: TEMPLATE_SOURCE_MAX_CHARS });
function liquidError(source: string): string | null {
  try {
    syntax.parse(source);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function keyErrors(key: string, field: string): FieldError[] {
  if (key.length < 3 || key.length > 255) return [{ field, message: 'must be 3 to 255 characters long', type: 'invalid' }];
  if (!KEY_RE.test(key)) return [{ field, message: 'must contain only lowercase letters, digits, "-" and "_"', type: 'invalid' }];
  return [];
}

function template(source: unknown, field: string, max: number, errors: FieldError[], required = true): void {
  if (source === undefined || source === null) {
    if (required) errors.push({ field, message: 'is required', type: 'missing' });
    return;
  }
  if (typeof source !== 'string') { errors.push({ field, message: 'must be a string', type: 'invalid' }); return; }
  if (source.length > max) { errors.push({ field, message: `must be at most ${max.toLocaleString('en')} characters`, type: 'too_long' }); return; }
  const err = liquidError(source);
  if (err) errors.push({ field, message: `is not valid Liquid: ${err}`, type: 'invalid' });
}

// ---- Partials ------------------------------------------------------------------------------

export interface PartialBody {
  key: string;
  type: (typeof PARTIAL_TYPES)[number];
  name: string;
  description: string | null;
  content: string;
  input_schema: unknown[] | null;
  icon_name: string | null;
  visual_block_enabled: boolean | null;
}

export function validatePartial(key: string, body: unknown): Validated<PartialBody> {
  const errors: FieldError[] = keyErrors(key, 'partial.key');
  if (!isObject(body)) return { ok: false, errors: [...errors, { field: 'partial', message: 'must be an object', type: 'invalid' }] };
  if (!PARTIAL_TYPES.includes(body.type as never)) errors.push({ field: 'partial.type', message: `must be one of ${PARTIAL_TYPES.join(', ')}`, type: 'invalid' });
  if (typeof body.name !== 'string' || body.name === '') errors.push({ field: 'partial.name', message: 'is required', type: 'missing' });
  else if (body.name.length > 255) errors.push({ field: 'partial.name', message: 'must be at most 255 characters', type: 'too_long' });
  if (body.description != null && (typeof body.description !== 'string' || body.description.length > 280)) errors.push({ field: 'partial.description', message: 'must be a string of at most 280 characters', type: 'invalid' });
  template(body.content, 'partial.content', PARTIAL_MAX_CHARS, errors);
  if (body.input_schema != null && !Array.isArray(body.input_schema)) errors.push({ field: 'partial.input_schema', message: 'must be an array', type: 'invalid' });
  if (body.visual_block_enabled != null && typeof body.visual_block_enabled !== 'boolean') errors.push({ field: 'partial.visual_block_enabled', message: 'must be a boolean', type: 'invalid' });
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      key, type: body.type as PartialBody['type'], name: body.name as string, description: (body.description as string | undefined) ?? null, content: body.content as string,
      input_schema: (body.input_schema as unknown[] | undefined) ?? null, icon_name: typeof body.icon_name === 'string' ? body.icon_name : null,
      visual_block_enabled: (body.visual_block_enabled as boolean | undefined) ?? null,
    },
  };
}

export async function applyCommittedPartial(db: Db, q: Queryable, value: PartialBody, now: Date): Promise<PartialRow> {
  const row = await upsertPartial(q, { ...value, sha: contentSha(JSON.stringify(value)) }, now);
  await notifyTemplateContentChanged(q, db);
  return row;
}

export function mgmtPartial(row: PartialRow | (PartialBody & { created_at?: Date; updated_at?: Date }), environment: string, now = new Date()) {
  return {
    key: row.key, type: row.type, name: row.name, description: row.description, content: row.content,
    input_schema: row.input_schema ?? [], icon_name: row.icon_name, visual_block_enabled: row.visual_block_enabled ?? false,
    valid: true, environment,
    inserted_at: (row.created_at ?? now).toISOString(), updated_at: (row.updated_at ?? now).toISOString(),
  };
}

// ---- Translations --------------------------------------------------------------------------

export interface TranslationBody { locale_code: string; namespace: string; format: 'json'; content: string }

/** The content key of a translation: `locale`, or `namespace.locale` (knock-cli's file name without `.json`). */
export const translationRef = (localeCode: string, namespace: string) => (namespace ? `${namespace}.${localeCode}` : localeCode);

export function parseTranslationRef(ref: string): { locale_code: string; namespace: string } {
  const dot = ref.lastIndexOf('.');
  return dot < 0 ? { locale_code: ref, namespace: '' } : { locale_code: ref.slice(dot + 1), namespace: ref.slice(0, dot) };
}

export function validateTranslation(ref: string, body: unknown): Validated<TranslationBody> {
  const { locale_code, namespace } = parseTranslationRef(ref);
  const errors: FieldError[] = [];
  if (!LOCALE_RE.test(locale_code)) errors.push({ field: 'locale_code', message: 'must be a locale code such as "en" or "fr-CA"', type: 'invalid' });
  if (!NAMESPACE_RE.test(namespace)) errors.push({ field: 'namespace', message: 'must contain only letters, digits, "-" and "_"', type: 'invalid' });
  if (!isObject(body)) return { ok: false, errors: [...errors, { field: 'translation', message: 'must be an object', type: 'invalid' }] };
  const format = body.format ?? 'json';
  if (format === 'po') errors.push({ field: 'translation.format', message: 'the PO format is not supported by Herald yet: send JSON', type: 'unsupported' });
  else if (format !== 'json') errors.push({ field: 'translation.format', message: 'must be "json" or "po"', type: 'invalid' });
  const content = body.content;
  if (typeof content !== 'string') errors.push({ field: 'translation.content', message: 'is required: a JSON-encoded object', type: 'missing' });
  else if (content.length > TRANSLATION_MAX_CHARS) errors.push({ field: 'translation.content', message: `is ${content.length.toLocaleString('en')} characters; a translation file may have at most ${TRANSLATION_MAX_CHARS.toLocaleString('en')}`, type: 'too_long' });
  else if (format === 'json') {
    let parsed: unknown;
    try { parsed = JSON.parse(content); } catch (err) { errors.push({ field: 'translation.content', message: `is not valid JSON: ${(err as Error).message}`, type: 'invalid' }); }
    if (parsed !== undefined && !isObject(parsed)) errors.push({ field: 'translation.content', message: 'must be a JSON object', type: 'invalid' });
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { locale_code, namespace, format: 'json', content: content as string } };
}

export async function applyCommittedTranslation(db: Db, q: Queryable, value: TranslationBody, now: Date): Promise<TranslationRow> {
  const row = await upsertTranslation(q, { ...value, sha: contentSha(value.content) }, now);
  await notifyTemplateContentChanged(q, db);
  return row;
}

export function mgmtTranslation(row: TranslationRow | (TranslationBody & { created_at?: Date; updated_at?: Date }), now = new Date()) {
  return {
    locale_code: row.locale_code, namespace: row.namespace, format: row.format, content: row.content,
    inserted_at: (row.created_at ?? now).toISOString(), updated_at: (row.updated_at ?? now).toISOString(),
  };
}

// ---- Email layouts -------------------------------------------------------------------------

export interface EmailLayoutBody { key: string; name: string; html_layout: string; text_layout: string; footer_links: { text: string; url: string }[] | null }

export function validateEmailLayout(key: string, body: unknown): Validated<EmailLayoutBody> {
  const errors: FieldError[] = keyErrors(key, 'email_layout.key');
  if (!isObject(body)) return { ok: false, errors: [...errors, { field: 'email_layout', message: 'must be an object', type: 'invalid' }] };
  if (typeof body.name !== 'string' || body.name === '') errors.push({ field: 'email_layout.name', message: 'is required', type: 'missing' });
  template(body.html_layout, 'email_layout.html_layout', TEMPLATE_SOURCE_MAX_CHARS, errors);
  if (typeof body.html_layout === 'string' && !/\{\{-?\s*content\s*-?\}\}/.test(body.html_layout)) errors.push({ field: 'email_layout.html_layout', message: 'must contain {{ content }}, where the message body goes', type: 'invalid' });
  template(body.text_layout, 'email_layout.text_layout', TEMPLATE_SOURCE_MAX_CHARS, errors);
  if (body.is_mjml === true) errors.push({ field: 'email_layout.is_mjml', message: 'MJML layouts are not supported by Herald yet', type: 'unsupported' });
  const links = body.footer_links;
  if (links != null && (!Array.isArray(links) || links.some((l) => !isObject(l) || typeof l.text !== 'string' || typeof l.url !== 'string'))) {
    errors.push({ field: 'email_layout.footer_links', message: 'must be a list of {text, url}', type: 'invalid' });
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: { key, name: body.name as string, html_layout: body.html_layout as string, text_layout: body.text_layout as string, footer_links: (links as EmailLayoutBody['footer_links']) ?? null },
  };
}

export async function applyCommittedEmailLayout(q: Queryable, value: EmailLayoutBody, now: Date): Promise<ManagedEmailLayoutRow> {
  return upsertManagedEmailLayout(q, { ...value, sha: contentSha(JSON.stringify(value)) }, now);
}

export function mgmtEmailLayout(row: ManagedEmailLayoutRow | (EmailLayoutBody & { sha?: string; created_at?: Date | null; updated_at?: Date }), environment: string, now = new Date()) {
  return {
    key: row.key, name: row.name ?? row.key, html_layout: row.html_layout ?? '', text_layout: row.text_layout ?? '',
    footer_links: row.footer_links ?? [], environment,
    sha: row.sha ?? contentSha(JSON.stringify([row.key, row.html_layout, row.text_layout])),
    created_at: (row.created_at ?? row.updated_at ?? now).toISOString(), updated_at: (row.updated_at ?? now).toISOString(),
  };
}
