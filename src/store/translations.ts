/** Committed translations of an environment (migration 025): one file per (locale, namespace). */
import type { Queryable } from './db.js';

export interface TranslationRow {
  locale_code: string;
  /** '' is the default namespace. */
  namespace: string;
  format: 'json' | 'po';
  content: string;
  sha: string;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'locale_code, namespace, format, content, sha, created_at, updated_at';

export async function upsertTranslation(q: Queryable, t: Omit<TranslationRow, 'created_at' | 'updated_at'>, now: Date): Promise<TranslationRow> {
  const rows = await q.query<TranslationRow>(
    `INSERT INTO translations (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $6)
     ON CONFLICT (locale_code, namespace) DO UPDATE
        SET format = EXCLUDED.format, content = EXCLUDED.content, sha = EXCLUDED.sha, updated_at = EXCLUDED.updated_at
     RETURNING ${COLUMNS}`,
    [t.locale_code, t.namespace, t.format, t.content, t.sha, now],
  );
  return rows[0];
}

export async function getTranslation(q: Queryable, localeCode: string, namespace: string): Promise<TranslationRow | null> {
  const rows = await q.query<TranslationRow>(`SELECT ${COLUMNS} FROM translations WHERE locale_code = $1 AND namespace = $2`, [localeCode, namespace]);
  return rows[0] ?? null;
}

/** A page of translations ordered by locale then namespace; the cursor is `locale\0namespace`. */
export async function listTranslations(q: Queryable, filter: { locale_code?: string; namespace?: string }, page: { after?: string; limit: number }): Promise<TranslationRow[]> {
  const [afterLocale, afterNamespace] = page.after !== undefined ? page.after.split('\0') : ['', ''];
  return q.query<TranslationRow>(
    `SELECT ${COLUMNS} FROM translations
      WHERE ($1::text IS NULL OR locale_code = $1) AND ($2::text IS NULL OR namespace = $2)
        AND (locale_code, namespace) > ($3, $4)
      ORDER BY locale_code, namespace LIMIT $5`,
    [filter.locale_code ?? null, filter.namespace ?? null, afterLocale ?? '', afterNamespace ?? '', page.limit],
  );
}

/** Every translation file's locale, namespace and content (what renders need). */
export async function allTranslationContents(q: Queryable): Promise<{ locale_code: string; namespace: string; content: string }[]> {
  return q.query("SELECT locale_code, namespace, content FROM translations WHERE format = 'json' ORDER BY locale_code, namespace");
}
