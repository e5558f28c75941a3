/*
 * Reads back the W3C trace context stored with triggers (workflow_triggers.trace_context,
 * migration 019) for the runs and deliveries a worker claimed: ONE query per claimed batch, and
 * only when tracing is on (callers check tracer().enabled first).
 */
import type { EngineStore } from '../engine/ports.js';
import { traceContextOf, type TraceContext, type TraceContextSource } from '../telemetry/port.js';
import type { Queryable } from './db.js';

/** The stored trace context of each trigger (workflow_run_id) that has one. */
export async function triggerTraceContexts(q: Queryable, triggerIds: readonly string[]): Promise<Map<string, TraceContext>> {
  const out = new Map<string, TraceContext>();
  if (triggerIds.length === 0) return out;
  const rows = await q.query<{ id: string; trace_context: unknown }>(
    'SELECT id, trace_context FROM workflow_triggers WHERE id = ANY($1::uuid[]) AND trace_context IS NOT NULL',
    [[...new Set(triggerIds)]],
  );
  for (const row of rows) {
    const context = traceContextOf(row.trace_context);
    if (context) out.set(row.id, context);
  }
  return out;
}

/** The stored trace context of the trigger behind each message that has one, by message id. */
export async function messageTraceContexts(q: Queryable, messageIds: readonly string[]): Promise<Map<string, TraceContext>> {
  const out = new Map<string, TraceContext>();
  if (messageIds.length === 0) return out;
  const rows = await q.query<{ id: string; trace_context: unknown }>(
    `SELECT m.id, t.trace_context FROM messages m JOIN workflow_triggers t ON t.id = m.workflow_run_id
      WHERE m.id = ANY($1::text[]) AND t.trace_context IS NOT NULL`,
    [[...messageIds]],
  );
  for (const row of rows) {
    const context = traceContextOf(row.trace_context);
    if (context) out.set(row.id, context);
  }
  return out;
}

/** Gives the engine's store the trace-context read the advance path uses when tracing is on. */
export function withTraceContexts<S extends EngineStore>(store: S, q: Queryable): S & TraceContextSource {
  return Object.assign(store, { triggerTraceContexts: (ids: readonly string[]) => triggerTraceContexts(q, ids) });
}
