/**
 * What the management API's workflow routes answer, independent of HTTP: one workflow by key,
 * or a page of them by key, each in Knock's mgmt shape (mgmt-shape.ts).
 *
 * Which version a workflow shows (Knock's `hide_uncommitted_changes`): in the environment
 * changes are written in (development), its uncommitted change when it has one, unless
 * `hide_uncommitted_changes`; otherwise its committed version in that environment
 * (content_committed), or for a workflow never managed as content (loaded from the folder
 * before, or written directly) the stored one.
 */
import type { Queryable } from '../store/db.js';
import { decodeCursor, encodeCursor, keysetPage } from '../store/cursor.js';
import { listChannels } from '../store/channels.js';
import { getCommitted, getDraft } from '../store/content.js';
import { mgmtWorkflowKeys, unmanagedWorkflows } from '../store/workflow-content.js';
import { errors } from '../domain/errors.js';
import type { StoredWorkflow, WorkflowDefinition } from '../domain/workflow.js';
import { annotateWorkflow, toMgmtWorkflow, type ChannelTypes, type MgmtWorkflow } from './mgmt-shape.js';

/** Knock's default page size for mgmt lists, and the most one page holds (a larger limit is cut down). */
export const MGMT_DEFAULT_PAGE_SIZE = 50;
export const MGMT_MAX_PAGE_SIZE = 100;

export interface MgmtPage<T> {
  entries: T[];
  page_info: { after: string | null; before: string | null; page_size: number };
}

export interface MgmtView {
  /** Show uncommitted changes (only the editable environment has them, and not with hide_uncommitted_changes). */
  drafts: boolean;
  /** Add knock-cli's `__annotation` (read-only and extractable fields). */
  annotate?: boolean;
}

async function channelTypes(db: Queryable): Promise<ChannelTypes> {
  return new Map((await listChannels(db)).map((c) => [c.key, c.type]));
}

/** The version of `key` the view shows, or null when the environment has none. */
export async function resolveWorkflow(db: Queryable, environment: string, key: string, view: MgmtView): Promise<StoredWorkflow | null> {
  const [draft, committed] = await Promise.all([
    view.drafts ? getDraft(db, environment, 'workflow', key) : null,
    getCommitted(db, environment, 'workflow', key),
  ]);
  const unmanaged = committed ? null : (await unmanagedWorkflows(db, [key]))[0] ?? null;
  const base = committed
    ? { key, sha: committed.sha, active: committed.active, definition: committed.body as WorkflowDefinition, createdAt: committed.createdAt, updatedAt: committed.updatedAt }
    : unmanaged;
  if (!draft) return base;
  return {
    key,
    sha: draft.sha,
    active: base?.active ?? true,
    definition: draft.body as WorkflowDefinition,
    createdAt: base?.createdAt ?? draft.createdAt,
    updatedAt: draft.updatedAt,
  };
}

function shape(w: StoredWorkflow, environment: string, types: ChannelTypes, view: MgmtView): MgmtWorkflow {
  const out = toMgmtWorkflow(w, environment, types);
  return view.annotate ? annotateWorkflow(out) : out;
}

export async function getMgmtWorkflow(db: Queryable, key: string, environment: string, view: MgmtView): Promise<MgmtWorkflow> {
  const found = await resolveWorkflow(db, environment, key, view);
  if (!found) throw errors.notFound(`The workflow "${key}"`);
  return shape(found, environment, await channelTypes(db), view);
}

/** A stored workflow (just written or read) in the mgmt shape. */
export async function mgmtWorkflowOf(db: Queryable, w: StoredWorkflow, environment: string, view: MgmtView): Promise<MgmtWorkflow> {
  return shape(w, environment, await channelTypes(db), view);
}

function cursorKey(cursor: string | undefined, field: 'after' | 'before'): string | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const v = decodeCursor(cursor, 1);
  if (!v || typeof v[0] !== 'string') {
    throw errors.invalidParams(`The "${field}" cursor is not valid.`, [{ field, message: 'is not a cursor returned by this API', type: 'invalid' }]);
  }
  return v[0];
}

export async function listMgmtWorkflows(
  db: Queryable,
  environment: string,
  query: { after?: string; before?: string; limit?: number },
  view: MgmtView,
): Promise<MgmtPage<MgmtWorkflow>> {
  const pageSize = Math.min(Math.max(query.limit ?? MGMT_DEFAULT_PAGE_SIZE, 1), MGMT_MAX_PAGE_SIZE);
  const after = cursorKey(query.after, 'after');
  const before = cursorKey(query.before, 'before');
  const keys = await mgmtWorkflowKeys(db, environment, view.drafts, { after, before, limit: pageSize });
  const page = keysetPage(keys, pageSize, { after, before }, (k) => encodeCursor([k]));
  const types = await channelTypes(db);
  const entries: MgmtWorkflow[] = [];
  for (const key of page.items) {
    const w = await resolveWorkflow(db, environment, key, view);
    if (w) entries.push(shape(w, environment, types, view));
  }
  return { entries, page_info: { after: page.after || null, before: page.before || null, page_size: pageSize } };
}
