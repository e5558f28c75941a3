/**
 * The drafts -> commit -> promote machinery (kinds.ts describes it), the same for every
 * content kind. HTTP-free: the management routes call these.
 */
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../store/db.js';
import type { EnvironmentDirectory } from '../environments/directory.js';
import {
  findReceivedCommit, getCommit, insertCommit, markCommitPromoted, putCommitted, putDraft, takeDrafts, unpromotedCommits,
  type ContentCommit, type ContentDraft,
} from '../store/content.js';
import { contentKind, type ContentType } from './kinds.js';

/** A transaction seen as a Db, so a kind's applyCommitted joins the commit's transaction. */
function transactionDb(db: Db, tx: Queryable): Db {
  return {
    engine: db.engine,
    query: (sql, params, opts) => tx.query(sql, params, opts),
    exec: (sql) => tx.exec(sql),
    transaction: (fn) => fn(tx),
    listen: (channel, onNotify) => db.listen(channel, onNotify),
    notify: (channel, payload) => db.notify(channel, payload),
    channelName: (channel) => db.channelName(channel),
    close: async () => {},
  };
}

/** The environment changes are written in (Knock: development): the first in promotion order. */
export const editableEnvironment = (environments: EnvironmentDirectory): string => environments.slugs[0];

/** The environment content reaches `to` from (the one just before it), or undefined for the first. */
export function previousEnvironment(environments: EnvironmentDirectory, to: string): string | undefined {
  return environments.slugs.find((slug) => environments.next(slug) === to);
}

/** Validates with the kind's validation and stores the result as the uncommitted change of (type, key). */
export async function saveDraft(db: Db, d: { environment: string; type: ContentType; key: string; value: unknown; author: string | null; now: Date }): Promise<ContentDraft> {
  return putDraft(db, { environment: d.environment, type: d.type, key: d.key, body: d.value, author: d.author, now: d.now });
}

/**
 * Commits the uncommitted changes of `environment` (all, of some types, or of one key): one
 * commit per change, each applied (kind.applyCommitted) in the same transaction as its commit.
 */
export async function commitDrafts(db: Db, c: {
  environment: string; message: string; author: string | null; now: Date; types?: readonly ContentType[]; key?: string;
}): Promise<ContentCommit[]> {
  return db.transaction(async (tx) => {
    const txDb = transactionDb(db, tx);
    const drafts = await takeDrafts(tx, c.environment, { types: c.types, key: c.key });
    const commits: ContentCommit[] = [];
    for (const draft of drafts) {
      const commit = await insertCommit(tx, {
        id: randomUUID(), environment: c.environment, type: draft.type, key: draft.key, body: draft.body,
        message: c.message, author: c.author, promotedFrom: null, now: c.now,
      });
      if (!commit) continue;
      await putCommitted(tx, { environment: c.environment, type: draft.type, key: draft.key, body: draft.body, source: 'api', commitId: commit.id, now: c.now });
      await contentKind(draft.type).applyCommitted(txDb, draft.key, draft.body, c.now);
      commits.push(commit);
    }
    return commits;
  });
}

/**
 * Applies one commit of the environment before `to` in `to`: a commit there naming it, the body
 * committed there, the kind's applyCommitted; then marks the source commit promoted. Receiving
 * the same commit twice changes nothing (the unique (environment, promoted_from)).
 */
async function promoteCommit(fromDb: Db, toDb: Db, to: string, source: ContentCommit, now: Date): Promise<ContentCommit> {
  const received = await toDb.transaction(async (tx) => {
    const commit = await insertCommit(tx, {
      id: randomUUID(), environment: to, type: source.type, key: source.key, body: source.body,
      message: source.message, author: source.author, promotedFrom: source.id, now,
    });
    if (!commit) return null;
    await putCommitted(tx, { environment: to, type: source.type, key: source.key, body: source.body, source: 'api', commitId: commit.id, now });
    await contentKind(source.type).applyCommitted(transactionDb(toDb, tx), source.key, source.body, now);
    return commit;
  });
  await markCommitPromoted(fromDb, source.id, now);
  return received ?? (await findReceivedCommit(toDb, to, source.id))!;
}

export class PromotionError extends Error {}

/** Promotes every commit `to` has not received from the environment before it, oldest first. */
export async function promoteAll(environments: EnvironmentDirectory, to: string, filter: { types?: readonly ContentType[]; key?: string }, now: Date): Promise<ContentCommit[]> {
  const from = previousEnvironment(environments, to);
  if (from === undefined) throw new PromotionError(`"${to}" is the first environment: changes are committed there, not promoted to it.`);
  const [fromDb, toDb] = await Promise.all([environments.db(from), environments.db(to)]);
  const pending = await unpromotedCommits(fromDb, from, filter);
  const promoted: ContentCommit[] = [];
  for (const commit of pending) promoted.push(await promoteCommit(fromDb, toDb, to, commit, now));
  return promoted;
}

/** Finds a commit by id in whichever environment holds it. */
export async function findCommit(environments: EnvironmentDirectory, id: string): Promise<ContentCommit | null> {
  for (const slug of environments.slugs) {
    const found = await getCommit(await environments.db(slug), id);
    if (found && found.environment === slug) return found;
  }
  return null;
}

/** Promotes one commit to the environment after its own; answers the source commit, now promoted. */
export async function promoteOne(environments: EnvironmentDirectory, commit: ContentCommit, now: Date): Promise<ContentCommit> {
  const to = environments.next(commit.environment);
  if (to === undefined) throw new PromotionError(`The commit is in "${commit.environment}", the last environment: there is nothing to promote it to.`);
  const fromDb = await environments.db(commit.environment);
  await promoteCommit(fromDb, await environments.db(to), to, commit, now);
  return (await getCommit(fromDb, commit.id))!;
}
