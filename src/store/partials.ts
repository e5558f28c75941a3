/** Committed partials of an environment (migration 025): what templates render with `{% render %}`. */
import type { Queryable } from './db.js';

export interface PartialRow {
  key: string;
  type: string;
  name: string;
  description: string | null;
  content: string;
  input_schema: unknown[] | null;
  icon_name: string | null;
  visual_block_enabled: boolean | null;
  sha: string;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'key, type, name, description, content, input_schema, icon_name, visual_block_enabled, sha, created_at, updated_at';

/** Makes `p` the committed partial of its key (created_at kept on update). */
export async function upsertPartial(q: Queryable, p: Omit<PartialRow, 'created_at' | 'updated_at'>, now: Date): Promise<PartialRow> {
  const rows = await q.query<PartialRow>(
    `INSERT INTO partials (${COLUMNS})
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $10)
     ON CONFLICT (key) DO UPDATE
        SET type = EXCLUDED.type, name = EXCLUDED.name, description = EXCLUDED.description, content = EXCLUDED.content,
            input_schema = EXCLUDED.input_schema, icon_name = EXCLUDED.icon_name, visual_block_enabled = EXCLUDED.visual_block_enabled,
            sha = EXCLUDED.sha, updated_at = EXCLUDED.updated_at
     RETURNING ${COLUMNS}`,
    [p.key, p.type, p.name, p.description, p.content, p.input_schema === null ? null : JSON.stringify(p.input_schema), p.icon_name, p.visual_block_enabled, p.sha, now],
  );
  return rows[0];
}

export async function getPartial(q: Queryable, key: string): Promise<PartialRow | null> {
  const rows = await q.query<PartialRow>(`SELECT ${COLUMNS} FROM partials WHERE key = $1`, [key]);
  return rows[0] ?? null;
}

/** A page of partials by key: after `after` (exclusive), at most `limit`. */
export async function listPartials(q: Queryable, page: { after?: string; before?: string; limit: number }): Promise<PartialRow[]> {
  if (page.before !== undefined) {
    const rows = await q.query<PartialRow>(`SELECT ${COLUMNS} FROM partials WHERE key < $1 ORDER BY key DESC LIMIT $2`, [page.before, page.limit]);
    return rows.reverse();
  }
  return q.query<PartialRow>(`SELECT ${COLUMNS} FROM partials WHERE key > $1 ORDER BY key LIMIT $2`, [page.after ?? '', page.limit]);
}

/** Every partial's key, type and content (what renders need). */
export async function allPartialContents(q: Queryable): Promise<{ key: string; type: string; content: string }[]> {
  return q.query('SELECT key, type, content FROM partials ORDER BY key');
}
