/*
 * SQL for workflow trigger_frequency markers (migrations/012). Both statements are primary-key
 * operations (EXPLAIN on PostgreSQL 15: Insert on trigger_frequency_marks with Conflict
 * Resolution NOTHING, the primary key being its only unique index; the read is an Index Scan
 * using trigger_frequency_marks_pkey).
 */
import type { TriggerFrequencyClaim } from '../engine/ports.js';
import type { Queryable } from './db.js';

/**
 * Claims the marker for `claim.runId` or reads who holds it. Two runs starting at once meet on the
 * primary key: the second INSERT waits for the first to commit and then does nothing, and its
 * follow-up read (a new statement, so a new snapshot under READ COMMITTED) sees the winner.
 */
export async function claimTriggerFrequency(q: Queryable, claim: TriggerFrequencyClaim): Promise<string> {
  const key = [claim.workflowKey, claim.recipient.collection, claim.recipient.id, claim.tenantKey];
  const inserted = await q.query<{ recipient_run_id: string }>(
    `INSERT INTO trigger_frequency_marks (workflow_key, recipient_collection, recipient_id, tenant_key, recipient_run_id, inserted_at)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT DO NOTHING
     RETURNING recipient_run_id`,
    [...key, claim.runId, claim.now],
  );
  if (inserted.length > 0) return inserted[0].recipient_run_id;
  const [holder] = await q.query<{ recipient_run_id: string }>(
    `SELECT recipient_run_id FROM trigger_frequency_marks
     WHERE workflow_key = $1 AND recipient_collection = $2 AND recipient_id = $3 AND tenant_key = $4`,
    key,
  );
  return holder.recipient_run_id;
}
