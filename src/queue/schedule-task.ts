import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../domain/clock.js';
import { HeraldError } from '../domain/errors.js';
import { toReference } from '../domain/recipients.js';
import { planFiring, scheduleZone } from '../domain/schedule-repeat.js';
import type { Engine } from '../engine/engine.js';
import type { Db } from '../store/db.js';
import { advanceSchedule, claimDueSchedules, type ClaimedSchedule } from '../store/schedules.js';
import type { BackgroundTask } from './background-worker.js';
import { inSpan, tracer } from '../telemetry/port.js';

/** Schedules claimed per tick. */
const BATCH = 50;
/**
 * How long a claim holds a schedule. A batch's triggers take milliseconds; a worker that died
 * holding claims delays those schedules by at most this much.
 */
const LEASE_MS = 60_000;

export interface ScheduleTaskOptions {
  db: Db;
  clock: Clock;
  engine: Pick<Engine, 'trigger'>;
  logger: FastifyBaseLogger;
  /** Zone for recipients without a valid `timezone` (default UTC). */
  accountTimezone?: string | null;
}

/**
 * Fires due schedules: claim a batch (SKIP LOCKED + lease), trigger each through the engine,
 * then move each on with a conditional update. The trigger's idempotency key is the schedule
 * and the occurrence, so a worker that dies between the trigger and the advance is harmless:
 * its successor's trigger for the same occurrence replays instead of starting a second run.
 * Object recipients are not fanned out to their subscribers (knock-api.md §5.15).
 */
export function createScheduleTask(opts: ScheduleTaskOptions): BackgroundTask {
  const owner = `schedules-${randomUUID()}`;
  return {
    name: 'schedules',
    async tick() {
      const now = opts.clock.now();
      const claimed = await claimDueSchedules(opts.db, owner, now, new Date(now.getTime() + LEASE_MS), BATCH);
      for (const schedule of claimed) {
        try {
          await fireTraced(opts, owner, schedule, now);
        } catch (err) {
          // Not the request's fault (database, crash): the claim lapses and the occurrence is retried.
          opts.logger.warn({ err, schedule_id: schedule.id }, 'firing a schedule failed; it will be retried when its claim lapses');
        }
      }
      return claimed.length;
    },
  };
}

export const SCHEDULE_SPAN_NAME = 'herald.schedule.fire';

/**
 * With tracing on, each firing is a span, and the trigger it makes stores that span's context
 * (the engine stores the active one, as for an HTTP trigger): the occurrence's runs and
 * deliveries are one trace under it. Each firing starts its own trace rather than continuing the
 * request that created the schedule: a schedule repeats for months, and one trace per
 * occurrence is what a trace viewer can show.
 */
function fireTraced(opts: ScheduleTaskOptions, owner: string, s: ClaimedSchedule, now: Date): Promise<void> {
  if (!tracer().enabled) return fire(opts, owner, s, now);
  return inSpan(SCHEDULE_SPAN_NAME, {
    kind: 'producer',
    parent: null,
    attributes: { 'herald.schedule_id': s.id, 'herald.workflow': s.workflow_key, 'herald.schedule.due_at': s.next_occurrence_at?.toISOString() },
  }, () => fire(opts, owner, s, now));
}

async function fire(opts: ScheduleTaskOptions, owner: string, s: ClaimedSchedule, now: Date): Promise<void> {
  const zone = scheduleZone(s.recipient_timezone, opts.accountTimezone);
  const timing = { repeats: s.repeats, scheduledAt: s.scheduled_at, endingAt: s.ending_at, insertedAt: s.inserted_at };
  const plan = planFiring(timing, s.next_occurrence_at, now, zone);
  let fired: Date | null = null;
  if (plan.fire) {
    const occurrence = plan.fire.toISOString();
    try {
      await opts.engine.trigger(s.workflow_key, {
        recipients: [toReference(s.recipient)],
        actor: s.actor ? toReference(s.actor) : null,
        data: s.data ?? {},
        tenant: s.tenant_id,
      }, {
        idempotencyKey: `schedule:${s.id}:${occurrence}`,
        source: { type: 'schedule', schedule_id: s.id },
        fanOut: false,
      });
      fired = plan.fire;
      opts.logger.debug({ schedule_id: s.id, occurrence, late_ms: now.getTime() - plan.fire.getTime() }, 'schedule fired');
    } catch (err) {
      if (!(err instanceof HeraldError)) throw err;
      if (err.errors?.some((e) => e.type === 'idempotency_mismatch')) {
        // This occurrence already fired before the schedule was edited: it counts as fired.
        fired = plan.fire;
      } else {
        // The workflow is missing, inactive or rejects the data: this occurrence is skipped, not retried forever.
        opts.logger.warn({ schedule_id: s.id, occurrence, code: err.code, message: err.message }, 'a schedule occurrence was not triggered');
      }
    }
  }
  await advanceSchedule(opts.db, { id: s.id, owner, due: s.next_occurrence_at, fired, next: plan.next });
}
