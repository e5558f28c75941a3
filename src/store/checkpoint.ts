import KSUID from 'ksuid';
import type { Queryable } from './db.js';
import type { RunEvent, RunState } from './runs.js';

export interface RunProgress {
  status: 'queued' | 'processing' | 'paused' | 'completed' | 'cancelled';
  position: number;
  state: RunState;
  wakeAt: Date | null;
  errorCount?: number;
  /** Keep attempts (a retry of the same step) instead of resetting them for the next step. */
  keepAttempts?: boolean;
}

export interface NewMessage {
  /** 27-char KSUID, time-ordered; see `newMessageId`. */
  id: string;
  channelId: string;
  recipient: { collection: string; id: string };
  workflowKey: string;
  workflowSha: string;
  categories: string[];
  workflowRunId: string;
  recipientRunId: string;
  stepRef: string;
  tenantId: string | null;
  actors: unknown[];
  status: string;
  data: Record<string, unknown>;
  content: Record<string, unknown>;
  /** message_events rows to write with it, e.g. ['message.queued', 'message.delivered']. */
  eventTypes: string[];
  insertedAt: Date;
}

/** Message ids are KSUIDs like Knock's: sortable by creation time. */
export function newMessageId(at: Date): string {
  return KSUID.randomSync(at).string;
}

/**
 * The checkpoint, as ONE statement (so it is atomic without BEGIN/COMMIT and costs one round
 * trip): it moves the run on, and only if that UPDATE matched, appends the run's events and
 * creates the step's messages with their events.
 *
 * The UPDATE matches only while this worker still holds the run and it is not cancelled. It takes
 * the row lock, so it serialises with a cancel: after a cancel has committed it matches nothing,
 * and the events and messages of the discarded outcome are never written. Messages are unique
 * per (run, step), so a step replayed after a crash never creates a second one.
 */
export async function checkpointRun(
  q: Queryable, runId: string, owner: string, p: RunProgress, now: Date, events: RunEvent[], messages: NewMessage[] = [],
): Promise<boolean> {
  const rows = await q.query<{ n: number }>(
    `WITH r AS (
       UPDATE recipient_runs
          SET status = $3, position = $4, state = $5, wake_at = $6,
              error_count = COALESCE($7, error_count),
              lease_owner = NULL,
              attempts = CASE WHEN $8 THEN attempts ELSE 0 END,
              updated_at = $9
        WHERE id = $1 AND status = 'processing' AND lease_owner = $2
        RETURNING id
     ), ev AS (
       INSERT INTO run_events (id, recipient_run_id, event, status, step_ref, step_type, attempt, data, inserted_at)
       SELECT e.id, e.recipient_run_id, e.event, COALESCE(e.status, 'ok'), e.step_ref, e.step_type, e.attempt, e.data, e.inserted_at
         FROM jsonb_to_recordset($10::jsonb)
           AS e(id uuid, recipient_run_id uuid, event text, status text, step_ref text, step_type text, attempt int, data jsonb, inserted_at timestamptz)
        WHERE EXISTS (SELECT 1 FROM r)
     ), input AS (
       SELECT * FROM jsonb_to_recordset($11::jsonb)
         AS x(id text, channel_id uuid, recipient_collection text, recipient_id text, workflow_key text, workflow_sha text,
              categories jsonb, workflow_run_id uuid, recipient_run_id uuid, step_ref text, tenant_id text, actors jsonb,
              status text, data jsonb, content jsonb, event_types jsonb, inserted_at timestamptz)
     ), m AS (
       INSERT INTO messages (id, channel_id, recipient_collection, recipient_id, workflow_key, workflow_sha, categories,
                             workflow_run_id, recipient_run_id, step_ref, tenant_id, actors, status, data, content,
                             inserted_at, updated_at)
       SELECT id, channel_id, recipient_collection, recipient_id, workflow_key, workflow_sha, categories,
              workflow_run_id, recipient_run_id, step_ref, tenant_id, actors, status, data, content, inserted_at, inserted_at
         FROM input
        WHERE EXISTS (SELECT 1 FROM r)
       ON CONFLICT (recipient_run_id, step_ref) DO NOTHING
       RETURNING id
     ), me AS (
       INSERT INTO message_events (id, message_id, type, inserted_at)
       SELECT gen_random_uuid(), m.id, t.type, input.inserted_at
         FROM m JOIN input ON input.id = m.id
        CROSS JOIN LATERAL jsonb_array_elements_text(input.event_types) AS t(type)
     )
     SELECT count(*)::int AS n FROM r`,
    [runId, owner, p.status, p.position, JSON.stringify(p.state), p.wakeAt, p.errorCount ?? null, p.keepAttempts ?? false, now,
      JSON.stringify(events), JSON.stringify(messages.map(toRecord))],
  );
  return rows[0]?.n === 1;
}

function toRecord(m: NewMessage) {
  return {
    id: m.id,
    channel_id: m.channelId,
    recipient_collection: m.recipient.collection,
    recipient_id: m.recipient.id,
    workflow_key: m.workflowKey,
    workflow_sha: m.workflowSha,
    categories: m.categories,
    workflow_run_id: m.workflowRunId,
    recipient_run_id: m.recipientRunId,
    step_ref: m.stepRef,
    tenant_id: m.tenantId,
    actors: m.actors,
    status: m.status,
    data: m.data,
    content: m.content,
    event_types: m.eventTypes,
    inserted_at: m.insertedAt,
  };
}
