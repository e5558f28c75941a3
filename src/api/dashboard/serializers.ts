/** Rows to the dashboard's shapes (schemas.ts). */
import { toReference } from '../../domain/recipients.js';
import type { RunRow } from '../../domain/run.js';
import type { MessageRow } from '../../store/messages.js';
import { engagementStatuses } from '../serializers/messages.js';
import { redactSecrets } from './redact.js';

const iso = (d: Date | string) => new Date(d).toISOString();
const isoOrNull = (d: Date | string | null | undefined) => (d === null || d === undefined ? null : iso(d));

export function dashboardRun(run: RunRow, haltReason: string | null = null) {
  return {
    id: run.id,
    workflow_run_id: run.workflow_run_id,
    workflow: run.workflow_key,
    workflow_sha: run.workflow_sha,
    recipient: toReference({ collection: run.recipient_collection, id: run.recipient_id }),
    actor: run.actor ? toReference(run.actor) : null,
    tenant: run.tenant_id,
    status: run.status,
    cancellation_key: run.cancellation_key,
    error_count: run.error_count,
    trigger_source: { type: 'api', ...(run.source ?? {}) } as Record<string, unknown>,
    // Trigger data as sent, credential-like values redacted (a fetch step's token often rides in it).
    data: redactSecrets(run.data ?? {}) as Record<string, unknown>,
    wake_at: isoOrNull(run.wake_at),
    halt_reason: haltReason,
    inserted_at: iso(run.inserted_at),
    updated_at: iso(run.updated_at),
  };
}

export function messageSummary(m: MessageRow) {
  return {
    id: m.id,
    channel_id: m.channel_id,
    channel_key: m.channel?.key ?? null,
    channel_type: m.channel?.type ?? null,
    provider: m.provider ?? m.channel?.provider ?? null,
    recipient: toReference({ collection: m.recipient_collection, id: m.recipient_id }),
    workflow: m.workflow_key ?? null,
    step_ref: m.step_ref,
    tenant: m.tenant_id,
    status: m.status,
    engagement_statuses: engagementStatuses(m),
    inserted_at: iso(m.inserted_at),
    updated_at: iso(m.updated_at),
  };
}
