/**
 * The partials and translations templates render with: an environment's committed ones
 * (TemplateContent, read by the store and kept live in the process: store/template-content.ts),
 * and the part of them one render needs (contentForRender), which travels with the render
 * request to a render process (render-pool.ts sends each text once per process, by sha).
 *
 * What a render needs is found in its sources: partials named in `{% render "key" %}` (and
 * `include`), followed through the partials they render; a partial named by a variable makes
 * every partial available. Translations go only to renders that use the `t` filter: the files
 * of the recipient's locale chain (`fr-CA`, then `fr`, then the default locale).
 */
import { createHash } from 'node:crypto';
import type { RenderContent } from './liquid-environment.js';
import type { ContentForRender } from './render-pool.js';
import { RENDER_CONTENT_MAX_CHARS } from './render-limits.js';

export interface PartialEntry { key: string; sha: string; content: string; type: string }
export interface TranslationEntry { locale: string; namespace: string; sha: string; content: string }

export interface TemplateContent {
  partials: ReadonlyMap<string, PartialEntry>;
  /** Translation files by locale code, lower-cased. */
  translations: ReadonlyMap<string, readonly TranslationEntry[]>;
  /** Knock's "default locale": used when the recipient has none or it has no translation. */
  defaultLocale: string;
}

/**
 * The default locale of every environment. Knock sets it per account; Herald has no setting for
 * it yet, so it is English, as Knock's is unless changed.
 */
export const DEFAULT_LOCALE = 'en';

export const EMPTY_TEMPLATE_CONTENT: TemplateContent = { partials: new Map(), translations: new Map(), defaultLocale: DEFAULT_LOCALE };

export const contentSha = (text: string) => createHash('sha256').update(text).digest('hex');

/** Builds a TemplateContent from rows (the store's, or a preview's own partial). */
export function templateContent(partials: Iterable<{ key: string; type: string; content: string }>, translations: Iterable<{ locale_code: string; namespace: string; content: string }>, defaultLocale = DEFAULT_LOCALE): TemplateContent {
  const p = new Map<string, PartialEntry>();
  for (const row of partials) p.set(row.key, { key: row.key, type: row.type, content: row.content, sha: contentSha(row.content) });
  const t = new Map<string, TranslationEntry[]>();
  for (const row of translations) {
    const locale = row.locale_code.toLowerCase();
    const list = t.get(locale) ?? [];
    list.push({ locale: row.locale_code, namespace: row.namespace ?? '', content: row.content, sha: contentSha(row.content) });
    t.set(locale, list);
  }
  return { partials: p, translations: t, defaultLocale };
}

const STATIC_PARTIAL = /\{%-?\s*(?:render|include|layout)\s+(['"])([^'"]*)\1/g;
const DYNAMIC_PARTIAL = /\{%-?\s*(?:render|include|layout)\s+(?!['"])/;
const USES_T = /\|\s*t\b/;

/** `fr-CA` → fr-ca, fr, then the default locale (lower-cased, without repeats). */
export function localeChain(locale: unknown, defaultLocale: string): string[] {
  const chain: string[] = [];
  const add = (l: string) => { const v = l.toLowerCase(); if (v && !chain.includes(v)) chain.push(v); };
  if (typeof locale === 'string' && locale.trim() !== '') {
    const l = locale.trim().replace(/_/g, '-');
    add(l);
    if (l.includes('-')) add(l.slice(0, l.indexOf('-')));
  }
  add(defaultLocale);
  return chain;
}

/** What one render (these sources, for a recipient with this locale) needs; null when nothing. */
export function contentForRender(content: TemplateContent | null | undefined, sources: readonly string[], locale: unknown): ContentForRender | null {
  if (!content || (content.partials.size === 0 && content.translations.size === 0)) return null;
  const partials: Record<string, string> = {};
  const blobs = new Map<string, string>();
  let usesT = false;
  let chars = 0;
  const addBlob = (sha: string, text: string) => {
    if (blobs.has(sha)) return;
    chars += text.length;
    if (chars > RENDER_CONTENT_MAX_CHARS) throw new Error(`the partials and translations this template uses are longer than ${RENDER_CONTENT_MAX_CHARS.toLocaleString('en')} characters`);
    blobs.set(sha, text);
  };
  const pending = [...sources];
  const addPartial = (entry: PartialEntry) => {
    if (partials[entry.key] !== undefined) return;
    partials[entry.key] = entry.sha;
    addBlob(entry.sha, entry.content);
    pending.push(entry.content);
  };
  let everyPartial = false;
  while (pending.length > 0) {
    const source = pending.pop()!;
    if (!usesT && USES_T.test(source)) usesT = true;
    if (!everyPartial && DYNAMIC_PARTIAL.test(source)) {
      everyPartial = true;
      for (const entry of content.partials.values()) addPartial(entry);
    }
    for (const m of source.matchAll(STATIC_PARTIAL)) {
      const entry = content.partials.get(m[2]);
      if (entry) addPartial(entry);
    }
  }
  const translations: RenderContent['translations'] = [];
  if (usesT) {
    for (const code of localeChain(locale, content.defaultLocale)) {
      for (const file of content.translations.get(code) ?? []) {
        translations.push({ locale: file.locale, namespace: file.namespace, sha: file.sha });
        addBlob(file.sha, file.content);
      }
    }
  }
  if (Object.keys(partials).length === 0 && translations.length === 0) return null;
  return { content: { partials, translations }, blobs };
}
