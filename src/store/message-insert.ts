import { randomUUID } from 'node:crypto';
import KSUID from 'ksuid';
import type { Queryable } from './db.js';

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
  now: Date;
}

/**
 * Creates a step's message exactly once: the unique (recipient_run_id, step_ref) index turns a
 * retried step into a no-op. Returns the message id, or null if the message already existed.
 */
/** Message ids are KSUIDs like Knock's: sortable by creation time. */
export function newMessageId(at: Date): string {
  return KSUID.randomSync(at).string;
}

export async function insertMessage(q: Queryable, m: NewMessage, eventTypes: string[]): Promise<string | null> {
  const id = m.id;
  const rows = await q.query<{ id: string }>(
    `INSERT INTO messages (id, channel_id, recipient_collection, recipient_id, workflow_key, workflow_sha, categories,
                           workflow_run_id, recipient_run_id, step_ref, tenant_id, actors, status, data, content,
                           inserted_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)
     ON CONFLICT (recipient_run_id, step_ref) DO NOTHING
     RETURNING id`,
    [id, m.channelId, m.recipient.collection, m.recipient.id, m.workflowKey, m.workflowSha, JSON.stringify(m.categories),
      m.workflowRunId, m.recipientRunId, m.stepRef, m.tenantId, JSON.stringify(m.actors), m.status, JSON.stringify(m.data),
      JSON.stringify(m.content), m.now],
  );
  if (rows.length === 0) return null;
  const events = eventTypes.map((type) => ({ id: randomUUID(), message_id: id, type, inserted_at: m.now }));
  await q.query(
    `INSERT INTO message_events (id, message_id, type, inserted_at)
     SELECT e.id, e.message_id, e.type, e.inserted_at FROM jsonb_to_recordset($1::jsonb) AS e(id uuid, message_id text, type text, inserted_at timestamptz)`,
    [JSON.stringify(events)],
  );
  return id;
}
