import type { Queryable } from './db.js';
import type { NewMessage, RunOutcome } from '../domain/run.js';

/**
 * The checkpoint, as ONE statement for a whole batch of runs (atomic without BEGIN/COMMIT, one
 * round trip): it moves each run on and, only for the runs whose UPDATE matched, appends their
 * events and creates their messages with message events. Returns the ids that were committed.
 *
 * A run's UPDATE matches only while this claim still holds it and it is not cancelled. The rows
 * are locked in id order (as cancel does) so the two never deadlock; once a cancel has committed,
 * the run no longer matches and its events and messages are never written. Messages are unique
 * per (run, step), so a step replayed after a crash never creates a second one.
 */
export async function checkpointRuns(q: Queryable, owner: string, outcomes: RunOutcome[], now: Date, notifyChannel?: string): Promise<string[]> {
  if (outcomes.length === 0) return [];
  const progress = outcomes.map((o) => ({
    id: o.runId, status: o.status, position: o.position, state: o.state, wake_at: o.wakeAt,
    error_count: o.errorCount ?? null, data: o.data ?? null,
  }));
  const rows = await q.query<{ id: string }>(
    `WITH p AS (
       SELECT * FROM jsonb_to_recordset($2::jsonb)
         AS p(id uuid, status text, position int, state jsonb, wake_at timestamptz, error_count int, data jsonb)
     ), locked AS (
       SELECT rr.id FROM recipient_runs rr
        WHERE rr.id IN (SELECT id FROM p) AND rr.status = 'processing' AND rr.lease_owner = $1
        ORDER BY rr.id
        FOR UPDATE
     ), r AS (
       UPDATE recipient_runs rr
          SET status = p.status, position = p.position, state = p.state, wake_at = p.wake_at,
              data = COALESCE(p.data, rr.data),
              error_count = COALESCE(p.error_count, rr.error_count),
              lease_owner = NULL,
              -- Any committed outcome (a pause and a retry included) ends the claim normally:
              -- attempts counts only claims in a row that never got this far (poison runs).
              attempts = 0,
              updated_at = $3
         FROM p
        WHERE rr.id = p.id AND rr.id IN (SELECT id FROM locked)
          AND rr.status = 'processing' AND rr.lease_owner = $1
        RETURNING ${RR_COLUMNS_FOR_MESSAGES}
     )${outcomeWritesSql('r', { events: 4, messages: 5, notify: 6 })}
     SELECT id FROM r WHERE (SELECT count(*) FROM n) >= 0`,
    [owner, JSON.stringify(progress), now, ...outcomeWriteParams(outcomes), notifyChannel ?? null],
  );
  return rows.map((r) => r.id);
}

/**
 * What `committed` returns: a message's recipient, workflow, trigger and tenant are its run's, so
 * they are read from the run row rather than sent again with every message (a quarter of the
 * messages' parameters).
 */
const RUN_COLUMNS = ['id', 'workflow_key', 'workflow_sha', 'workflow_run_id', 'tenant_id', 'recipient_collection', 'recipient_id'];
export const RUN_COLUMNS_FOR_MESSAGES = RUN_COLUMNS.join(', ');
/** The same columns of the checkpoint's UPDATE (`recipient_runs rr`). */
const RR_COLUMNS_FOR_MESSAGES = RUN_COLUMNS.map((c) => `rr.${c}`).join(', ');

/**
 * What a committed advance writes besides its run row, as the CTEs `ev`, `input`, `m`, `me`,
 * `dl` and `n` of a statement whose CTE `committed` returns the runs that committed, with the
 * columns their messages copy (RUN_COLUMNS_FOR_MESSAGES; the checkpoint's UPDATE, or a fan-out
 * page's INSERT: fanouts.ts): their run events, their
 * messages with message events and delivery jobs, and a NOTIFY per new feed message. The
 * caller's final SELECT must read `n` (`(SELECT count(*) FROM n) >= 0`) or no NOTIFY is sent.
 * Parameters: the `events` and `messages` of `outcomeWriteParams`, and the NOTIFY channel
 * (`notify`; null sends none).
 */
export function outcomeWritesSql(committed: string, p: { events: number; messages: number; notify: number }): string {
  return `, ev AS (
       -- One row per run and advance; several events go in one 'advance' row (migration 029).
       INSERT INTO run_events (id, recipient_run_id, event, status, step_ref, step_type, attempt, data, events, inserted_at)
       SELECT e.id, e.recipient_run_id, e.event, COALESCE(e.status, 'ok'), e.step_ref, e.step_type, e.attempt, e.data, e.events, e.inserted_at
         FROM jsonb_to_recordset($${p.events}::jsonb)
           AS e(id uuid, recipient_run_id uuid, event text, status text, step_ref text, step_type text, attempt int, data jsonb, events jsonb, inserted_at timestamptz)
        WHERE e.recipient_run_id IN (SELECT id FROM ${committed})
     ), input AS (
       SELECT * FROM jsonb_to_recordset($${p.messages}::jsonb)
         AS x(id text, channel_id uuid, categories jsonb, recipient_run_id uuid, step_ref text, actors jsonb,
              status text, data jsonb, content jsonb, event_types jsonb, inserted_at timestamptz,
              batch_id uuid, total_activities int, total_actors int, deliver boolean)
     ), m AS (
       INSERT INTO messages (id, channel_id, recipient_collection, recipient_id, workflow_key, workflow_sha, categories,
                             workflow_run_id, recipient_run_id, step_ref, tenant_id, actors, status, data, content,
                             inserted_at, updated_at, batch_id, total_activities, total_actors)
       -- A message is its run's: recipient, workflow, trigger and tenant come from the run row.
       SELECT x.id, x.channel_id, c.recipient_collection, c.recipient_id, c.workflow_key, c.workflow_sha, x.categories,
              c.workflow_run_id, x.recipient_run_id, x.step_ref, c.tenant_id, x.actors, x.status, x.data, x.content,
              x.inserted_at, x.inserted_at, x.batch_id, x.total_activities, x.total_actors
         FROM input x JOIN ${committed} c ON c.id = x.recipient_run_id
       ON CONFLICT (recipient_run_id, step_ref, channel_id) DO NOTHING
       RETURNING id, channel_id, recipient_collection, recipient_id
     ), me AS (
       INSERT INTO message_events (id, message_id, type, inserted_at)
       SELECT gen_random_uuid(), m.id, t.type, input.inserted_at
         FROM m JOIN input ON input.id = m.id
        CROSS JOIN LATERAL jsonb_array_elements_text(input.event_types) AS t(type)
     ), dl AS (
       -- Delivery jobs for messages a provider sends (delivery-task.ts), created with the message.
       INSERT INTO deliveries (message_id, channel_id, next_attempt_at, created_at)
       SELECT m.id, input.channel_id, input.inserted_at, input.inserted_at
         FROM m JOIN input ON input.id = m.id
        WHERE input.deliver
     ), n AS (
       -- New feed messages, announced at commit to every API process (message-notify.ts).
       SELECT pg_notify($${p.notify}::text, json_build_object('c', x.channel_id, 'r', x.recipient_id)::text)
         FROM (SELECT DISTINCT m.channel_id, m.recipient_id FROM m WHERE m.recipient_collection = '$users') x
        WHERE $${p.notify}::text IS NOT NULL
     )`;
}

/** The events and the messages of the outcomes, as the JSON parameters `outcomeWritesSql` reads. */
export function outcomeWriteParams(outcomes: readonly RunOutcome[]): [events: string, messages: string] {
  return [JSON.stringify(outcomes.flatMap(eventRows)), JSON.stringify(outcomes.flatMap((o) => o.messages).map(toRecord))];
}

/**
 * An advance's events as run_events rows: a single event as itself, several as one 'advance'
 * row holding them in order (migration 029). The group takes its first event's id (each event
 * keeps its own inside), its last event's time, and 'error' when any event is one.
 */
function eventRows(o: RunOutcome): object[] {
  if (o.events.length <= 1) return o.events;
  return [{
    id: o.events[0].id,
    recipient_run_id: o.runId,
    event: 'advance',
    status: o.events.some((e) => e.status === 'error') ? 'error' : 'ok',
    events: o.events.map(groupedEvent),
    inserted_at: o.events[o.events.length - 1].inserted_at,
  }];
}

/**
 * One event inside an 'advance' row, without its empty fields: `run_event_list` reads an absent
 * step, attempt or data as NULL and an absent status as 'ok', and these parameters are most of
 * what a fan-out page or a checkpoint sends (a simple in-app run: 980 bytes of events, 560 now).
 */
function groupedEvent(e: RunOutcome['events'][number]): object {
  const out: Record<string, unknown> = { id: e.id, event: e.event };
  if (e.status != null && e.status !== 'ok') out.status = e.status;
  if (e.step_ref != null) out.step_ref = e.step_ref;
  if (e.step_type != null) out.step_type = e.step_type;
  if (e.attempt != null) out.attempt = e.attempt;
  if (e.data != null) out.data = e.data;
  out.inserted_at = e.inserted_at;
  return out;
}

/** A message as `input` reads it; fields left out when empty are read as NULL (`deliver`: false). */
function toRecord(m: NewMessage) {
  return {
    id: m.id,
    channel_id: m.channelId,
    categories: m.categories,
    recipient_run_id: m.recipientRunId,
    step_ref: m.stepRef,
    actors: m.actors,
    status: m.status,
    data: m.data,
    content: m.content,
    event_types: m.eventTypes,
    inserted_at: m.insertedAt,
    ...(m.batchId != null && { batch_id: m.batchId }),
    ...(m.totalActivities != null && { total_activities: m.totalActivities }),
    ...(m.totalActors != null && { total_actors: m.totalActors }),
    ...(m.deliver && { deliver: true }),
  };
}
