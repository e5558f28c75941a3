/**
 * An environment's committed partials and translations, kept in the process (TemplateContent),
 * so a render never queries for them: re-read when a commit changes them (NOTIFY on
 * TEMPLATE_CONTENT_CHANNEL, sent by notifyTemplateContentChanged in the committing transaction)
 * and, as a backstop, lazily after 30 s (live-copy.ts).
 */
import type { Db, Queryable } from './db.js';
import { liveCopy } from './live-copy.js';
import { allPartialContents } from './partials.js';
import { allTranslationContents } from './translations.js';
import { DEFAULT_LOCALE, templateContent, type TemplateContent } from '../templates/content.js';

export const TEMPLATE_CONTENT_CHANNEL = 'herald_template_content';

const copies = new WeakMap<Db, Promise<{ current(): TemplateContent }>>();

/** Reads the environment's partials and translations now (previews: always the latest). */
export async function readTemplateContent(q: Queryable, defaultLocale = DEFAULT_LOCALE): Promise<TemplateContent> {
  const [partials, translations] = await Promise.all([allPartialContents(q), allTranslationContents(q)]);
  return templateContent(partials, translations, defaultLocale);
}

/** The live copy for this store (created on first use). */
export async function liveTemplateContent(db: Db, defaultLocale = DEFAULT_LOCALE): Promise<TemplateContent> {
  let copy = copies.get(db);
  if (!copy) {
    copy = liveCopy(db, TEMPLATE_CONTENT_CHANNEL, () => readTemplateContent(db, defaultLocale));
    copies.set(db, copy);
    copy.catch(() => copies.delete(db));
  }
  return (await copy).current();
}

/** Tells every process that the committed partials or translations changed (fires at commit inside a transaction). */
export async function notifyTemplateContentChanged(q: Queryable, db: Pick<Db, 'channelName'>): Promise<void> {
  await q.query('SELECT pg_notify($1, $2)', [db.channelName(TEMPLATE_CONTENT_CHANNEL), '']);
}
