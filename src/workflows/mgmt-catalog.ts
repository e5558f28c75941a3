/**
 * What the management API's workflow routes answer, independent of HTTP: one workflow by key,
 * or a page of them by key, each in Knock's mgmt shape (mgmt-shape.ts).
 *
 * The environment is checked by the caller and only named in the answers: Herald does not yet
 * keep content per environment (issue 13), so development and production list the same
 * workflows, the ones in the database (loaded from the workflows folder at start-up).
 */
import type { Queryable } from '../store/db.js';
import { decodeCursor, encodeCursor, keysetPage } from '../store/cursor.js';
import { listChannels } from '../store/channels.js';
import { findCatalogWorkflow, listCatalogWorkflows } from '../store/workflow-catalog.js';
import { errors } from '../domain/errors.js';
import { toMgmtWorkflow, type ChannelTypes, type MgmtWorkflow } from './mgmt-shape.js';

/** Knock's default page size for mgmt lists, and the most one page holds (a larger limit is cut down). */
export const MGMT_DEFAULT_PAGE_SIZE = 50;
export const MGMT_MAX_PAGE_SIZE = 100;

export interface MgmtPage<T> {
  entries: T[];
  page_info: { after: string | null; before: string | null; page_size: number };
}

async function channelTypes(db: Queryable): Promise<ChannelTypes> {
  return new Map((await listChannels(db)).map((c) => [c.key, c.type]));
}

export async function getMgmtWorkflow(db: Queryable, key: string, environment: string): Promise<MgmtWorkflow> {
  const found = await findCatalogWorkflow(db, key);
  if (!found) throw errors.notFound(`The workflow "${key}"`);
  return toMgmtWorkflow(found, environment, await channelTypes(db));
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
): Promise<MgmtPage<MgmtWorkflow>> {
  const pageSize = Math.min(Math.max(query.limit ?? MGMT_DEFAULT_PAGE_SIZE, 1), MGMT_MAX_PAGE_SIZE);
  const after = cursorKey(query.after, 'after');
  const before = cursorKey(query.before, 'before');
  const rows = await listCatalogWorkflows(db, { after, before, limit: pageSize });
  const page = keysetPage(rows, pageSize, { after, before }, (w) => encodeCursor([w.key]));
  const types = await channelTypes(db);
  return {
    entries: page.items.map((w) => toMgmtWorkflow(w, environment, types)),
    page_info: { after: page.after || null, before: page.before || null, page_size: pageSize },
  };
}
