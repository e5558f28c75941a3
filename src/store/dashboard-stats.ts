/**
 * The dashboard's overview figures (GET /dashboard/api/overview, polled every 5 s and streamed),
 * each an index range scan bounded by recent activity or by the unfinished runs, never a scan of
 * all runs or messages (plans in migrations/027_dashboard.sql):
 * - triggers per minute: workflow_triggers_inserted_idx over the last hour (index only);
 * - run counts by status: the workers' partial indexes recipient_runs_due_idx and
 *   recipient_runs_delay_due_idx (migration 016), which hold the unfinished runs only;
 * - due runs: queue-stats.ts (the workers' own partial indexes);
 * - deliveries and delivery failures: messages_list_idx over the last hour;
 * - step failures: run_events_errors_idx, partial on error events, over the last hour.
 */
import type { Queryable } from './db.js';

export interface MinuteCount { minute: Date; count: number }

/** Triggers per minute since `since` (minutes without triggers are absent). */
export async function triggersPerMinute(q: Queryable, since: Date): Promise<MinuteCount[]> {
  return q.query<MinuteCount>(
    `SELECT date_trunc('minute', inserted_at) AS minute, count(*)::int AS count
       FROM workflow_triggers WHERE inserted_at >= $1
      GROUP BY 1 ORDER BY 1`,
    [since],
  );
}

export interface RunStatusCounts { queued: number; processing: number; paused: number }

/** Unfinished runs by status. */
export async function unfinishedRunCounts(q: Queryable): Promise<RunStatusCounts> {
  const rows = await q.query<{ status: string; count: number }>(
    `SELECT status, sum(n)::int AS count FROM (
       -- Each part repeats its partial index's predicate verbatim (migrations/016), as queue-stats.ts does.
       SELECT status, count(*) AS n FROM recipient_runs
        WHERE status IN ('queued', 'processing') OR (status = 'paused' AND NOT state ? 'waiting') GROUP BY status
       UNION ALL
       SELECT 'paused', count(*) FROM recipient_runs WHERE status = 'paused' AND state ? 'waiting'
     ) unfinished GROUP BY status`,
  );
  const counts: RunStatusCounts = { queued: 0, processing: 0, paused: 0 };
  for (const r of rows) if (r.status in counts) counts[r.status as keyof RunStatusCounts] = r.count;
  return counts;
}

export interface DeliveryCount { channel_type: string; provider: string; status: string; count: number }

/** Messages created since `since` by channel type, provider (the one that sent, else the channel's) and status. */
export async function deliveriesSince(q: Queryable, since: Date): Promise<DeliveryCount[]> {
  return q.query<DeliveryCount>(
    `SELECT c.type AS channel_type, coalesce(m.provider, c.provider) AS provider, m.status, count(*)::int AS count
       FROM messages m JOIN channels c ON c.id = m.channel_id
      WHERE m.inserted_at >= $1
      GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    [since],
  );
}

export interface FailureGroup {
  kind: 'step' | 'delivery';
  workflow: string | null;
  channel_key: string | null;
  reason: string;
  count: number;
  last_at: Date;
}

/** Failed steps (error events) and undelivered messages since `since`, grouped by what and why. */
export async function failuresSince(q: Queryable, since: Date, limit = 50): Promise<FailureGroup[]> {
  const steps = await q.query<FailureGroup>(
    // Rows found by run_events_errors_idx; a row holding several events of one advance
    // (migration 029) is 'error' when any of them is, and only those are counted.
    `SELECT 'step' AS kind, r.workflow_key AS workflow, NULL AS channel_key,
            left(coalesce(x.ev->'data'->>'reason', x.ev->'data'->>'error', x.ev->>'event'), 300) AS reason,
            count(*)::int AS count, max(e.inserted_at) AS last_at
       FROM run_events e JOIN recipient_runs r ON r.id = e.recipient_run_id
      CROSS JOIN LATERAL jsonb_array_elements(COALESCE(e.events, jsonb_build_array(jsonb_build_object('event', e.event, 'status', e.status, 'data', e.data)))) AS x(ev)
      WHERE e.status = 'error' AND e.inserted_at >= $1 AND x.ev->>'status' = 'error'
      GROUP BY 2, 4 ORDER BY count(*) DESC LIMIT $2`,
    [since, limit],
  );
  const deliveries = await q.query<FailureGroup>(
    `SELECT 'delivery' AS kind, m.workflow_key AS workflow, c.key AS channel_key, m.status AS reason,
            count(*)::int AS count, max(m.updated_at) AS last_at
       FROM messages m JOIN channels c ON c.id = m.channel_id
      WHERE m.inserted_at >= $1 AND m.status IN ('undelivered', 'bounced', 'not_sent')
      GROUP BY 2, 3, 4 ORDER BY count(*) DESC LIMIT $2`,
    [since, limit],
  );
  return [...steps, ...deliveries];
}

export interface ChannelCircuitRow {
  channel_key: string;
  channel_id: string;
  provider_index: number;
  provider: string;
  consecutive_failures: number;
  open_until: Date | null;
  updated_at: Date | null;
}

/** Every recorded circuit with its channel's key (one row per channel and provider position). */
export async function channelCircuits(q: Queryable): Promise<ChannelCircuitRow[]> {
  return q.query<ChannelCircuitRow>(
    `SELECT c.key AS channel_key, c.id AS channel_id, pc.provider_index, pc.provider, pc.consecutive_failures, pc.open_until, pc.updated_at
       FROM provider_circuits pc JOIN channels c ON c.id = pc.channel_id
      ORDER BY c.key, pc.provider_index`,
  );
}

/** Each channel's fallback providers as configured (settings included: callers mask them). */
export async function channelFallbacks(q: Queryable): Promise<Map<string, { provider?: unknown; settings?: unknown }[]>> {
  const rows = await q.query<{ id: string; fallbacks: unknown }>('SELECT id, fallbacks FROM channels');
  return new Map(rows.map((r) => [r.id, Array.isArray(r.fallbacks) ? r.fallbacks as { provider?: unknown; settings?: unknown }[] : []]));
}
