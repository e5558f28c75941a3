/*
 * The messages runs' channel steps created, for message-status step conditions
 * (`refs.<step_ref>.delivery_status`). One statement per claimed batch of runs; EXPLAIN on
 * PostgreSQL 15 (20k messages, generic plan): Bitmap Index Scan on messages_run_step_idx
 * (recipient_run_id = ANY($1)).
 */
import type { RunMessageStatus } from '../engine/ports.js';
import type { Queryable } from './db.js';

interface Row {
  recipient_run_id: string;
  step_ref: string;
  id: string;
  status: string;
  seen_at: Date | null;
  read_at: Date | null;
  interacted_at: Date | null;
  link_clicked_at: Date | null;
  archived_at: Date | null;
}

export async function runMessages(q: Queryable, runIds: string[]): Promise<RunMessageStatus[]> {
  if (runIds.length === 0) return [];
  const rows = await q.query<Row>(
    `SELECT recipient_run_id, step_ref, id, status, seen_at, read_at, interacted_at, link_clicked_at, archived_at
     FROM messages WHERE recipient_run_id = ANY($1::uuid[]) AND step_ref IS NOT NULL`,
    [runIds],
  );
  return rows.map((r) => ({
    recipient_run_id: r.recipient_run_id,
    step_ref: r.step_ref,
    message_id: r.id,
    status: r.status,
    // Engagement statuses are the timestamps that are set, as Message.engagement_statuses reports them.
    engagement_statuses: ([['seen', r.seen_at], ['read', r.read_at], ['interacted', r.interacted_at], ['link_clicked', r.link_clicked_at], ['archived', r.archived_at]] as const)
      .filter(([, at]) => at !== null).map(([name]) => name),
  }));
}
