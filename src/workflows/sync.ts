/**
 * The workflows folder as committed content (README "Managing workflows"):
 *
 * - At start-up (and on every change in watch mode) each workflow in the folder becomes the
 *   committed version of its key in every environment, recorded as loaded from a file.
 * - A key changed through the management API (an uncommitted change, or a version committed or
 *   promoted through it) is owned by the API from then on: its file is skipped, and the log
 *   says which file and why.
 * - A workflow loaded from a file before whose file is gone (and that the API does not own) is
 *   deactivated — triggers then get Knock's inactive-workflow error — rather than silently kept.
 *   A workflow whose file is present but broken is reported and left as it was.
 *
 * Several processes may do this at once: versions are content-addressed and the writes are
 * upserts, so they converge on the same rows.
 */
import { watch, type FSWatcher } from 'node:fs';
import { dirname, sep } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../store/db.js';
import type { Clock } from '../domain/clock.js';
import { ENVIRONMENTS } from '../domain/environments.js';
import { upsertWorkflow } from '../store/workflows.js';
import { getCommitted, getDraft, putCommitted, setCommittedActive } from '../store/content.js';
import { activeFileWorkflows, deactivateWorkflow } from '../store/workflow-content.js';
import { workflowBody } from './body.js';
import { loadWorkflowsFromDirectory } from './load-directory.js';

export interface WorkflowSyncReport {
  loaded: string[];
  errors: { path: string; field: string; message: string }[];
  /** Files not loaded because the management API owns their key. */
  skipped?: { key: string; path: string; reason: string }[];
  /** Workflows deactivated because the file they were loaded from is gone. */
  deactivated?: { key: string; path: string }[];
}

export interface WorkflowSyncOptions {
  /**
   * The environment whose store `db` is. Absent = every environment Herald knows, all in `db`
   * (the layout where one store answers every environment).
   */
  environment?: string;
  /** Where skipped files and deactivated workflows are reported; absent = only in the report. */
  logger?: FastifyBaseLogger;
}

/** Why a key's file is skipped, or null when the folder may write it. */
async function apiOwnership(db: Db, environment: string, key: string): Promise<string | null> {
  if (await getDraft(db, environment, 'workflow', key)) return 'it has an uncommitted change made through the management API';
  const committed = await getCommitted(db, environment, 'workflow', key);
  if (committed?.source === 'api') return 'it was committed or promoted through the management API, which owns it from then on';
  return null;
}

export async function syncWorkflowsFromDirectory(db: Db, dir: string, now: Date, opts: WorkflowSyncOptions = {}): Promise<WorkflowSyncReport> {
  const { workflows, errors, files } = await loadWorkflowsFromDirectory(dir);
  const environments = opts.environment ? [opts.environment] : [...ENVIRONMENTS];
  const loaded = new Set<string>();
  const skipped = new Map<string, { key: string; path: string; reason: string }>();
  const deactivated = new Map<string, { key: string; path: string }>();
  const present = new Set(workflows.map((wf) => wf.key));
  // A workflow directory whose files are broken is still there: its workflow is left as it was.
  const brokenDirs = new Set(errors.map((e) => dirname(e.path)));
  const isBroken = (source: string) => [...brokenDirs].some((d) => source === d || source.startsWith(d + sep));

  // A key the API owns in any of these environments is skipped in all of them: with one store
  // for several environments they share the workflows table the engine reads.
  const owners = new Map<string, string>();
  for (const key of new Set([...present, ...(await activeFileWorkflows(db)).map((w) => w.key)])) {
    for (const environment of environments) {
      const reason = await apiOwnership(db, environment, key);
      if (reason) { owners.set(key, reason); break; }
    }
  }

  for (const wf of workflows) {
    const path = files[wf.key];
    const reason = owners.get(wf.key);
    if (reason) {
      skipped.set(wf.key, { key: wf.key, path, reason });
      continue;
    }
    const active = wf.active !== false;
    await upsertWorkflow(db, wf, path, now);
    for (const environment of environments) {
      await putCommitted(db, { environment, type: 'workflow', key: wf.key, body: workflowBody(wf.key, wf as unknown as Record<string, unknown>), source: 'file', commitId: null, now, initialActive: active });
      await setCommittedActive(db, environment, 'workflow', wf.key, active, now);
    }
    loaded.add(wf.key);
  }
  for (const { key, source } of await activeFileWorkflows(db)) {
    if (present.has(key) || owners.has(key) || isBroken(dirname(source))) continue;
    await deactivateWorkflow(db, key, now);
    for (const environment of environments) await setCommittedActive(db, environment, 'workflow', key, false, now);
    deactivated.set(key, { key, path: source });
  }
  for (const s of skipped.values()) opts.logger?.warn({ workflow: s.key, path: s.path }, `workflow file ${s.path} skipped: ${s.reason}`);
  for (const d of deactivated.values()) opts.logger?.warn({ workflow: d.key, path: d.path }, `workflow "${d.key}" deactivated: its file ${d.path} is gone`);
  return { loaded: [...loaded], errors, skipped: [...skipped.values()], deactivated: [...deactivated.values()] };
}

/**
 * Whether the folder is watched: HERALD_WATCH_WORKFLOWS (true/1 or false/0) when set, else on
 * in development (NODE_ENV unset or "development") and off otherwise (production, tests).
 */
export function watchWorkflowsFromEnv(env: NodeJS.ProcessEnv): boolean {
  const explicit = env.HERALD_WATCH_WORKFLOWS?.trim().toLowerCase();
  if (explicit) return explicit === 'true' || explicit === '1' || explicit === 'yes';
  return env.NODE_ENV === undefined || env.NODE_ENV === '' || env.NODE_ENV === 'development';
}

export interface WorkflowsWatcher {
  /** Resolves after the sync the latest change started (tests wait on it). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export interface WatchOptions {
  dir: string;
  /** Each environment's store; the folder's workflows are committed content of all of them. */
  environments: { slugs: readonly string[]; db(slug: string): Promise<Db> };
  clock: Clock;
  logger: FastifyBaseLogger;
  /** Quiet time after the last change before the folder is read again (editors write in bursts). */
  debounceMs?: number;
  /** Called after each sync (tests). */
  onSync?: (report: WorkflowSyncReport) => void;
  /** Stop watching when this closes (Herald's app: its onClose hook). */
  closeWith?: { addHook(name: 'onClose', hook: () => Promise<void>): unknown };
}

/**
 * Watches the workflows folder (recursively) and syncs it again, debounced, after each change;
 * what triggers read changes at once (the trigger's write re-checks the version it cached).
 */
export function watchWorkflowsDirectory(opts: WatchOptions): WorkflowsWatcher {
  const debounceMs = opts.debounceMs ?? 250;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  let closed = false;
  const sync = async () => {
    for (const slug of opts.environments.slugs) {
      const db = await opts.environments.db(slug);
      const report = await syncWorkflowsFromDirectory(db, opts.dir, opts.clock.now(), { environment: slug, logger: opts.logger });
      for (const e of report.errors) opts.logger.error({ path: e.path, field: e.field }, `workflow not loaded: ${e.message}`);
      opts.onSync?.(report);
    }
    opts.logger.info({ dir: opts.dir }, 'workflows folder changed: synced');
  };
  const schedule = () => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      running = running.then(sync).catch((err: unknown) => opts.logger.error({ err }, 'syncing the workflows folder failed'));
    }, debounceMs);
  };
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(opts.dir, { recursive: true, persistent: false }, schedule);
    watcher.on('error', (err) => opts.logger.warn({ err, dir: opts.dir }, 'watching the workflows folder failed'));
    opts.logger.info({ dir: opts.dir }, 'watching the workflows folder for changes');
  } catch (err) {
    opts.logger.warn({ err, dir: opts.dir }, 'cannot watch the workflows folder: changes need a restart');
  }
  const handle: WorkflowsWatcher = {
    async settled() {
      while (timer) await new Promise((r) => setTimeout(r, debounceMs));
      await running;
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      watcher?.close();
      await running;
    },
  };
  opts.closeWith?.addHook('onClose', () => handle.close());
  return handle;
}
