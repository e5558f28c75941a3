/**
 * Content kinds: the things Knock lets you edit, commit and promote (workflows, email layouts,
 * partials, translations). One machinery serves them all; a kind only says how its bodies are
 * validated and how a committed body becomes what triggers and renders read.
 *
 * How content moves (Knock's model):
 *
 *   1. Draft. `PUT /v1/<kind>/<key>?environment=development` validates the body with the kind's
 *      `validate` (the same validation as every other source, e.g. the workflows folder) and
 *      stores it as the uncommitted change of (type, key) in development (store/content.ts:
 *      content_drafts). Nothing that runs sees a draft: triggers and renders read only
 *      committed content. Writes to other environments are refused, as Knock refuses them.
 *   2. Commit. `PUT /v1/commits` (or `commit=true` on the upsert) turns each draft into one
 *      commit (Knock: one commit per resource) holding the body and its sha, makes the body the
 *      committed version of (type, key) in development (content_committed), calls the kind's
 *      `applyCommitted` in the same transaction (for workflows: the workflows table the engine
 *      reads, so the next trigger in any process runs it), and deletes the draft.
 *   3. Promote. `PUT /v1/commits/promote?to_environment=production` (or one commit with
 *      `PUT /v1/commits/{id}/promote`) copies the commits the target has not received yet, from
 *      the environment just before it (EnvironmentDirectory.next), into the target's store: a
 *      new commit row there with `promoted_from` = the source commit, the body committed there,
 *      and `applyCommitted` on the target's store. A source commit is "promoted" once a commit
 *      in the next environment names it in `promoted_from`.
 *
 * Content tables carry an `environment` column even though each environment has its own
 * store: it keeps environments apart while several slugs still answer one store.
 */
import type { Db } from '../store/db.js';

export type ContentType = 'workflow' | 'email_layout' | 'partial' | 'translation';
export const CONTENT_TYPES: readonly ContentType[] = ['workflow', 'email_layout', 'partial', 'translation'];

export interface ContentFieldError { field: string; message: string; type: string }

export interface ContentKind {
  type: ContentType;
  /** The same validation whatever the source; field paths name the step/field (e.g. "workflow.steps[1].settings.delay_for"). */
  validate(key: string, body: unknown): { ok: true; value: unknown } | { ok: false; errors: ContentFieldError[] };
  /** Make `value` the committed version of `key` in this environment's store (what triggers and renders read). */
  applyCommitted(db: Db, key: string, value: unknown, now: Date): Promise<void>;
}

const kinds = new Map<ContentType, ContentKind>();

export function registerContentKind(kind: ContentKind): void {
  kinds.set(kind.type, kind);
}

export function contentKind(type: ContentType): ContentKind {
  const kind = kinds.get(type);
  if (!kind) throw new Error(`no content kind "${type}" is registered`);
  return kind;
}

/** True when a kind for `type` is registered (commit/promote skip nothing: a missing kind is an error). */
export function hasContentKind(type: ContentType): boolean {
  return kinds.has(type);
}

export const isContentType = (value: string): value is ContentType => (CONTENT_TYPES as readonly string[]).includes(value);
