import type { ScheduleRow } from '../../store/schedules.js';
import { serializeEntity } from './entities.js';

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/**
 * Knock's Schedule: the full recipient and actor resources, the rules as ScheduleRepeat. Herald
 * also returns the schedule's own `scheduled_at` and `ending_at` (not in Knock's shape; the SDK
 * ignores unknown fields) so a client can see what it set.
 */
export function serializeSchedule(s: ScheduleRow) {
  return {
    __typename: 'Schedule',
    id: s.id,
    workflow: s.workflow_key,
    recipient: serializeEntity(s.recipient),
    actor: s.actor ? serializeEntity(s.actor) : null,
    tenant: s.tenant_id,
    data: s.data,
    repeats: s.repeats.map((r) => ({ __typename: 'ScheduleRepeat', ...r })),
    scheduled_at: iso(s.scheduled_at),
    ending_at: iso(s.ending_at),
    last_occurrence_at: iso(s.last_occurrence_at),
    next_occurrence_at: iso(s.next_occurrence_at),
    inserted_at: iso(s.inserted_at),
    updated_at: iso(s.updated_at),
  };
}
