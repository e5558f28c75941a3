/**
 * Content managed through the management API (src/content/kinds.ts describes drafts -> commit
 * -> promote): uncommitted changes, committed bodies and commits of one environment's store.
 * Every statement names the environment, so environments stay apart even when several slugs
 * share one store.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from './db.js';
import type { ContentType } from '../content/kinds.js';

/** Key-sorted JSON hashed: the same body always has the same sha. */
export function contentSha(body: unknown): string {
  const canon = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
    if (v && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
      return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canon(x)}`).join(',')}}`;
    }
    return JSON.stringify(v) ?? 'null';
  };
  return createHash('sha256').update(canon(body)).digest('hex');
}

export interface ContentDraft {
  environment: string;
  type: ContentType;
  key: string;
  sha: string;
  body: unknown;
  author: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type ContentSource = 'api' | 'file';

export interface CommittedContent {
  environment: string;
  type: ContentType;
  key: string;
  sha: string;
  body: unknown;
  source: ContentSource;
  active: boolean;
  commitId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ContentCommit {
  id: string;
  environment: string;
  type: ContentType;
  key: string;
  sha: string;
  body: unknown;
  message: string;
  author: string | null;
  promotedFrom: string | null;
  promotedAt: Date | null;
  createdAt: Date;
}

const date = (v: Date | string): Date => new Date(v);
const dateOrNull = (v: Date | string | null): Date | null => (v === null ? null : new Date(v));

/* ------------------------------------------------------------------ drafts */

interface DraftRow { environment: string; type: ContentType; key: string; sha: string; body: unknown; author: string | null; created_at: Date | string; updated_at: Date | string }
const draft = (r: DraftRow): ContentDraft => ({
  environment: r.environment, type: r.type, key: r.key, sha: r.sha, body: r.body, author: r.author, createdAt: date(r.created_at), updatedAt: date(r.updated_at),
});

/** Writes (or replaces) the uncommitted change of (type, key). */
export async function putDraft(db: Queryable, d: { environment: string; type: ContentType; key: string; body: unknown; author: string | null; now: Date }): Promise<ContentDraft> {
  const sha = contentSha(d.body);
  const rows = await db.query<DraftRow>(
    `INSERT INTO content_drafts (environment, type, key, sha, body, author, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
     ON CONFLICT (environment, type, key) DO UPDATE SET sha = EXCLUDED.sha, body = EXCLUDED.body, author = EXCLUDED.author, updated_at = EXCLUDED.updated_at
     RETURNING *`,
    [d.environment, d.type, d.key, sha, JSON.stringify(d.body), d.author, d.now],
  );
  return draft(rows[0]);
}

export async function getDraft(db: Queryable, environment: string, type: ContentType, key: string): Promise<ContentDraft | null> {
  const rows = await db.query<DraftRow>('SELECT * FROM content_drafts WHERE environment = $1 AND type = $2 AND key = $3', [environment, type, key]);
  return rows[0] ? draft(rows[0]) : null;
}

/** Uncommitted changes, oldest first; optionally of some types, or of one key (with one type). */
export async function listDrafts(db: Queryable, environment: string, filter: { types?: readonly ContentType[]; key?: string; limit?: number } = {}): Promise<ContentDraft[]> {
  const rows = await db.query<DraftRow>(
    `SELECT * FROM content_drafts WHERE environment = $1 AND ($2::text[] IS NULL OR type = ANY($2)) AND ($3::text IS NULL OR key = $3)
     ORDER BY updated_at, type, key LIMIT $4`,
    [environment, filter.types ? [...filter.types] : null, filter.key ?? null, filter.limit ?? 10_000],
  );
  return rows.map(draft);
}

/**
 * Takes (deletes and answers) the uncommitted changes a commit turns into commits, oldest first.
 * Inside the commit's transaction this claims them: a concurrent commit waits on the rows and
 * then finds them gone, so no change is committed twice.
 */
export async function takeDrafts(db: Queryable, environment: string, filter: { types?: readonly ContentType[]; key?: string } = {}): Promise<ContentDraft[]> {
  const rows = await db.query<DraftRow>(
    `DELETE FROM content_drafts WHERE environment = $1 AND ($2::text[] IS NULL OR type = ANY($2)) AND ($3::text IS NULL OR key = $3) RETURNING *`,
    [environment, filter.types ? [...filter.types] : null, filter.key ?? null],
  );
  return rows.map(draft).sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime() || a.type.localeCompare(b.type) || a.key.localeCompare(b.key));
}

export async function deleteDraft(db: Queryable, environment: string, type: ContentType, key: string): Promise<void> {
  await db.query('DELETE FROM content_drafts WHERE environment = $1 AND type = $2 AND key = $3', [environment, type, key]);
}

/* --------------------------------------------------------------- committed */

interface CommittedRow {
  environment: string; type: ContentType; key: string; sha: string; body: unknown; source: ContentSource; active: boolean;
  commit_id: string | null; created_at: Date | string; updated_at: Date | string;
}
const committed = (r: CommittedRow): CommittedContent => ({
  environment: r.environment, type: r.type, key: r.key, sha: r.sha, body: r.body, source: r.source, active: r.active,
  commitId: r.commit_id, createdAt: date(r.created_at), updatedAt: date(r.updated_at),
});

export async function getCommitted(db: Queryable, environment: string, type: ContentType, key: string): Promise<CommittedContent | null> {
  const rows = await db.query<CommittedRow>('SELECT * FROM content_committed WHERE environment = $1 AND type = $2 AND key = $3', [environment, type, key]);
  return rows[0] ? committed(rows[0]) : null;
}

/** Committed content of one type by key (ascending), `limit` rows after `after`. */
export async function listCommitted(db: Queryable, environment: string, type: ContentType, page: { after?: string; limit: number }): Promise<CommittedContent[]> {
  const rows = await db.query<CommittedRow>(
    'SELECT * FROM content_committed WHERE environment = $1 AND type = $2 AND ($3::text IS NULL OR key > $3) ORDER BY key LIMIT $4',
    [environment, type, page.after ?? null, page.limit],
  );
  return rows.map(committed);
}

/** Every committed key of a type loaded from a given source (the folder sync's bookkeeping). */
export async function committedKeys(db: Queryable, environment: string, type: ContentType, source: ContentSource): Promise<string[]> {
  const rows = await db.query<{ key: string }>('SELECT key FROM content_committed WHERE environment = $1 AND type = $2 AND source = $3', [environment, type, source]);
  return rows.map((r) => r.key);
}

/**
 * Makes `body` the committed version of (type, key). `active` is kept for an existing key
 * (activation is per environment, not part of the content) and `initialActive` for a new one.
 */
export async function putCommitted(db: Queryable, c: {
  environment: string; type: ContentType; key: string; body: unknown; source: ContentSource; commitId: string | null; now: Date; initialActive?: boolean;
}): Promise<CommittedContent> {
  const rows = await db.query<CommittedRow>(
    `INSERT INTO content_committed (environment, type, key, sha, body, source, active, commit_id, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
     ON CONFLICT (environment, type, key) DO UPDATE SET sha = EXCLUDED.sha, body = EXCLUDED.body, source = EXCLUDED.source,
       commit_id = EXCLUDED.commit_id, updated_at = CASE WHEN content_committed.sha = EXCLUDED.sha AND content_committed.source = EXCLUDED.source
         THEN content_committed.updated_at ELSE EXCLUDED.updated_at END
     RETURNING *`,
    [c.environment, c.type, c.key, contentSha(c.body), JSON.stringify(c.body), c.source, c.initialActive ?? true, c.commitId, c.now],
  );
  return committed(rows[0]);
}

/** Sets the per-environment active flag; false when the key has no committed version. */
export async function setCommittedActive(db: Queryable, environment: string, type: ContentType, key: string, active: boolean, now: Date): Promise<CommittedContent | null> {
  const rows = await db.query<CommittedRow>(
    `UPDATE content_committed SET active = $4, updated_at = CASE WHEN active = $4 THEN updated_at ELSE $5 END
     WHERE environment = $1 AND type = $2 AND key = $3 RETURNING *`,
    [environment, type, key, active, now],
  );
  return rows[0] ? committed(rows[0]) : null;
}

/* ----------------------------------------------------------------- commits */

interface CommitRow {
  id: string; environment: string; type: ContentType; key: string; sha: string; body: unknown; message: string; author: string | null;
  promoted_from: string | null; promoted_at: Date | string | null; created_at: Date | string;
}
const commit = (r: CommitRow): ContentCommit => ({
  id: r.id, environment: r.environment, type: r.type, key: r.key, sha: r.sha, body: r.body, message: r.message, author: r.author,
  promotedFrom: r.promoted_from, promotedAt: dateOrNull(r.promoted_at), createdAt: date(r.created_at),
});

/** Records a commit; a promoted one (promotedFrom set) already received by this environment returns null. */
export async function insertCommit(db: Queryable, c: {
  id: string; environment: string; type: ContentType; key: string; body: unknown; message: string; author: string | null; promotedFrom: string | null; now: Date;
}): Promise<ContentCommit | null> {
  const rows = await db.query<CommitRow>(
    `INSERT INTO content_commits (id, environment, type, key, sha, body, message, author, promoted_from, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (environment, promoted_from) WHERE promoted_from IS NOT NULL DO NOTHING
     RETURNING *`,
    [c.id, c.environment, c.type, c.key, contentSha(c.body), JSON.stringify(c.body), c.message, c.author, c.promotedFrom, c.now],
  );
  return rows[0] ? commit(rows[0]) : null;
}

export async function getCommit(db: Queryable, id: string): Promise<ContentCommit | null> {
  const rows = await db.query<CommitRow>('SELECT * FROM content_commits WHERE id = $1', [id]);
  return rows[0] ? commit(rows[0]) : null;
}

/** The commit of this environment that received `sourceId` by promotion, if any. */
export async function findReceivedCommit(db: Queryable, environment: string, sourceId: string): Promise<ContentCommit | null> {
  const rows = await db.query<CommitRow>('SELECT * FROM content_commits WHERE environment = $1 AND promoted_from = $2', [environment, sourceId]);
  return rows[0] ? commit(rows[0]) : null;
}

export async function markCommitPromoted(db: Queryable, id: string, now: Date): Promise<void> {
  await db.query('UPDATE content_commits SET promoted_at = COALESCE(promoted_at, $2) WHERE id = $1', [id, now]);
}

export interface CommitFilter {
  promoted?: boolean;
  types?: readonly ContentType[];
  key?: string;
}

/**
 * Commits of an environment, newest first (Knock's order); a page is `limit + 1` rows after the
 * cursor (created_at, id) so the caller can tell whether more follow.
 */
export async function listCommits(db: Queryable, environment: string, filter: CommitFilter, page: { after?: { at: Date; id: string }; limit: number }): Promise<ContentCommit[]> {
  const rows = await db.query<CommitRow>(
    `SELECT * FROM content_commits WHERE environment = $1
       AND ($2::boolean IS NULL OR (promoted_at IS NOT NULL) = $2)
       AND ($3::text[] IS NULL OR type = ANY($3))
       AND ($4::text IS NULL OR key = $4)
       AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $7`,
    [environment, filter.promoted ?? null, filter.types ? [...filter.types] : null, filter.key ?? null, page.after?.at ?? null, page.after?.id ?? null, page.limit + 1],
  );
  return rows.map(commit);
}

/** Commits not promoted yet, oldest first (the order they are applied in the next environment). */
export async function unpromotedCommits(db: Queryable, environment: string, filter: Omit<CommitFilter, 'promoted'>, limit = 10_000): Promise<ContentCommit[]> {
  const rows = await db.query<CommitRow>(
    `SELECT * FROM content_commits WHERE environment = $1 AND promoted_at IS NULL
       AND ($2::text[] IS NULL OR type = ANY($2)) AND ($3::text IS NULL OR key = $3)
     ORDER BY created_at, id LIMIT $4`,
    [environment, filter.types ? [...filter.types] : null, filter.key ?? null, limit],
  );
  return rows.map(commit);
}
