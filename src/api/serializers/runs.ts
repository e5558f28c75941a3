import { toReference } from '../../domain/recipients.js';
import type { RunEventRow } from '../../store/run-queries.js';
import type { RunRow } from '../../domain/run.js';

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** Knock's WorkflowRecipientRun. */
export function serializeRun(run: RunRow) {
  return {
    __typename: 'WorkflowRecipientRun',
    id: run.id,
    workflow_run_id: run.workflow_run_id,
    workflow: run.workflow_key,
    status: run.status,
    recipient: toReference({ collection: run.recipient_collection, id: run.recipient_id }),
    actor: run.actor ? toReference(run.actor) : null,
    tenant: run.tenant_id,
    error_count: run.error_count,
    trigger_source: { __typename: 'TriggerSource', type: 'api', ...(run.source ?? {}), cancellation_key: run.cancellation_key },
    inserted_at: iso(run.inserted_at),
    updated_at: iso(run.updated_at),
  };
}

/** Knock's WorkflowRecipientRunEvent; `attempt` is an integer when present, so it is left out when unknown. */
export function serializeRunEvent(e: RunEventRow) {
  return {
    __typename: 'WorkflowRecipientRunEvent',
    id: e.id,
    event: e.event,
    status: e.status,
    step_ref: e.step_ref,
    step_type: e.step_type,
    ...(e.attempt === null ? {} : { attempt: e.attempt }),
    data: e.data,
    inserted_at: iso(e.inserted_at),
  };
}
