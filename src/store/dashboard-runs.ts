/**
 * What the dashboard's run pages read beyond the public API's queries (run-queries.ts): the run
 * list with a cancellation-key filter, why runs halted, a run's batch, each workflow's last
 * trigger, and cancelling one run. Index use is noted per query (migrations/027_dashboard.sql).
 */
import type { Queryable } from './db.js';
import { encodeCursor, keysetPage, readTimeIdCursor } from './cursor.js';
import type { RunRow } from '../domain/run.js';

export interface DashboardRunFilter {
  workflow?: string;
  statuses?: string[];
  tenant?: string;
  recipient?: { collection: string; id: string };
  cancellationKey?: string;
  from?: Date;
  to?: Date;
}

/**
 * Newest first, keyset-paged over (inserted_at, id): recipient_runs_list_idx, or with a
 * recipient recipient_runs_recipient_idx, or with a cancellation key recipient_runs_cancel_idx
 * (cancellation_key, workflow_key; migration 027), whose matches are then sorted.
 */
export async function listDashboardRuns(q: Queryable, f: DashboardRunFilter, page: { after?: string; pageSize: number }) {
  const where: string[] = [];
  const params: unknown[] = [];
  const p = (value: unknown) => { params.push(value); return `$${params.length}`; };
  if (f.recipient) where.push(`recipient_collection = ${p(f.recipient.collection)} AND recipient_id = ${p(f.recipient.id)}`);
  if (f.cancellationKey !== undefined) where.push(`cancellation_key = ${p(f.cancellationKey)}`);
  if (f.workflow) where.push(`workflow_key = ${p(f.workflow)}`);
  if (f.statuses?.length) where.push(`status = ANY(${p(f.statuses)}::text[])`);
  if (f.tenant) where.push(`tenant_id = ${p(f.tenant)}`);
  if (f.from) where.push(`inserted_at >= ${p(f.from)}`);
  if (f.to) where.push(`inserted_at <= ${p(f.to)}`);
  const after = readTimeIdCursor(page.after, 'after');
  if (after) where.push(`(inserted_at, id) < (${p(after[0])}::timestamptz, ${p(after[1])}::uuid)`);
  const rows = await q.query<RunRow>(
    `SELECT * FROM recipient_runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY inserted_at DESC, id DESC LIMIT ${p(page.pageSize + 1)}`,
    params,
  );
  const cut = keysetPage(rows, page.pageSize, { after, before: null }, (r) => encodeCursor([r.inserted_at, r.id]));
  return { runs: cut.items, after: cut.after };
}

/** The reason of each listed run's halt, when it halted (run_events_run_idx, one probe per run). */
export async function haltReasons(q: Queryable, runIds: string[]): Promise<Map<string, string>> {
  if (runIds.length === 0) return new Map();
  const rows = await q.query<{ id: string; reason: string | null }>(
    `SELECT r.id, (SELECT e.data->>'reason' FROM run_event_list e
                    WHERE e.recipient_run_id = r.id AND e.event = 'run_halted' ORDER BY e.seq DESC, e.n DESC LIMIT 1) AS reason
       FROM unnest($1::uuid[]) AS r(id)`,
    [runIds],
  );
  return new Map(rows.filter((r) => r.reason !== null).map((r) => [r.id, r.reason!]));
}

export interface RunBatch {
  id: string;
  step_ref: string;
  batch_key: string;
  status: string;
  closes_at: Date;
}

/** The batches a run joined (batch_members' unique (recipient_run_id, step_ref) index). */
export async function batchesOfRun(q: Queryable, runId: string): Promise<RunBatch[]> {
  return q.query<RunBatch>(
    `SELECT b.id, m.step_ref, b.batch_key, b.status, b.closes_at
       FROM batch_members m JOIN batches b ON b.id = m.batch_id
      WHERE m.recipient_run_id = $1 ORDER BY m.seq`,
    [runId],
  );
}

/** Each workflow's latest trigger (workflow_triggers_workflow_idx: one backward probe per key). */
export async function lastTriggeredAt(q: Queryable, workflowKeys: string[]): Promise<Map<string, Date>> {
  if (workflowKeys.length === 0) return new Map();
  const rows = await q.query<{ key: string; at: Date | null }>(
    `SELECT k.key, (SELECT t.inserted_at FROM workflow_triggers t WHERE t.workflow_key = k.key ORDER BY t.inserted_at DESC LIMIT 1) AS at
       FROM unnest($1::text[]) AS k(key)`,
    [workflowKeys],
  );
  return new Map(rows.filter((r) => r.at !== null).map((r) => [r.key, r.at!]));
}

/** A workflow's stored versions, newest first (workflow_versions is one row per distinct definition: small). */
export async function workflowVersions(q: Queryable, workflowKey: string, limit = 50): Promise<{ sha: string; created_at: Date }[]> {
  return q.query<{ sha: string; created_at: Date }>(
    'SELECT sha, created_at FROM workflow_versions WHERE workflow_key = $1 ORDER BY created_at DESC LIMIT $2',
    [workflowKey, limit],
  );
}

/**
 * Cancels one unfinished run and records its `run_cancelled` event in the same statement, as
 * cancelling by key does (runs.ts cancelMatchingRuns). Returns false when the run was not
 * unfinished (already completed or cancelled) or does not exist.
 */
export async function cancelOneRun(q: Queryable, runId: string, now: Date, eventData: unknown): Promise<boolean> {
  const rows = await q.query<{ n: number }>(
    `WITH c AS (
       UPDATE recipient_runs SET status = 'cancelled', wake_at = NULL, lease_owner = NULL, updated_at = $2
        WHERE id = $1 AND status IN ('queued', 'processing', 'paused')
       RETURNING id
     ), ev AS (
       INSERT INTO run_events (id, recipient_run_id, event, status, data, inserted_at)
       SELECT gen_random_uuid(), c.id, 'run_cancelled', 'ok', $3::jsonb, $2 FROM c
     )
     SELECT count(*)::int AS n FROM c`,
    [runId, now, JSON.stringify(eventData)],
  );
  return (rows[0]?.n ?? 0) > 0;
}
