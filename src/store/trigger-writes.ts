/*
 * SQL that writes a trigger: the trigger row, its recipient runs and its fan-out jobs.
 */
import type { Queryable } from './db.js';
import type { EntityKey } from '../domain/recipients.js';
import type { NewRun, NewTrigger, RunState } from '../domain/run.js';

/**
 * Inserts the trigger row, all its recipient runs and the fan-out jobs of its object recipients
 * in ONE statement: atomic on its own and one round trip whatever the fan-out (runs come in as
 * a JSON array). Nothing is inserted unless the workflow is still active at version
 * `workflowSha`; returns false in that case. A fan-out row is written only for objects that have
 * subscribers (checked by the subscriptions primary key).
 */
export async function insertTriggerWithRuns(q: Queryable, t: NewTrigger, runs: NewRun[], state: RunState, fanOut: EntityKey[] = []): Promise<boolean> {
  const rows = await q.query<{ triggers: number }>(
    `WITH t AS (
       INSERT INTO workflow_triggers (id, workflow_key, workflow_sha, actor, tenant_id, data, cancellation_key, settings, source, inserted_at)
       SELECT $1, $2, $3, $4, $5, $10, $6, $11, COALESCE($12::jsonb, '{"type":"api"}'), $8
        WHERE EXISTS (SELECT 1 FROM workflows WHERE key = $2 AND sha = $3 AND active)
       RETURNING id
     ), r AS (
       INSERT INTO recipient_runs (id, workflow_run_id, workflow_key, workflow_sha, recipient_collection, recipient_id,
                                   actor, tenant_id, cancellation_key, data, status, position, state, source, wake_at, inserted_at, updated_at)
       SELECT x.id, t.id, $2, $3, x.recipient_collection, x.recipient_id, $4, $5, $6, x.data, 'queued', 0, $7, $12::jsonb, $8, $8, $8
         FROM t CROSS JOIN jsonb_to_recordset($9::jsonb) AS x(id uuid, recipient_collection text, recipient_id text, data jsonb)
       RETURNING 1
     ), f AS (
       INSERT INTO fanouts (id, workflow_run_id, workflow_key, cancellation_key, object_collection, object_id, depth, status, inserted_at, updated_at)
       SELECT gen_random_uuid(), t.id, $2, $6, o.collection, o.id, 1, 'pending', $8, $8
         FROM t CROSS JOIN jsonb_to_recordset($13::jsonb) AS o(collection text, id text)
        WHERE EXISTS (SELECT 1 FROM subscriptions s WHERE s.object_collection = o.collection AND s.object_id = o.id)
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM t)::int AS triggers, (SELECT count(*) FROM r)::int AS runs, (SELECT count(*) FROM f)::int AS fanouts`,
    [t.id, t.workflowKey, t.workflowSha, t.actor ? JSON.stringify(t.actor) : null, t.tenantId, t.cancellationKey,
      JSON.stringify(state), t.now, JSON.stringify(runs), JSON.stringify(t.data), JSON.stringify(t.settings),
      t.source ? JSON.stringify(t.source) : null, JSON.stringify(fanOut)],
  );
  return rows[0]?.triggers === 1;
}
