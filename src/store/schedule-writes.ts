/**
 * Creating and updating schedules: the checks and inline identifications around the SQL in
 * schedules.ts, shared by `POST/PUT /v1/schedules` and the bulk create. Every function runs in
 * the caller's transaction, so a 422 half-way leaves nothing written.
 */
import { randomUUID } from 'node:crypto';
import { errors, type FieldError } from '../domain/errors.js';
import { TENANTS, USERS, toEntityKey, type EntityKey, type RecipientReference, type RecipientRequest } from '../domain/recipients.js';
import {
  isValidTimeZone, parseRepeatRules, rulesThatNeverOccur, scheduleZone, upcomingOccurrence,
  type RepeatRule, type RepeatRuleInput, type ScheduleTiming,
} from '../domain/schedule-repeat.js';
import type { Queryable } from './db.js';
import { ensureEntities, getEntities, identifyInline, type EntityRow } from './entities.js';
import { getSchedules, insertSchedules, updateSchedules, type ScheduleFields, type ScheduleRow } from './schedules.js';
import { getWorkflowHead } from './workflows.js';

export type TenantInput = string | ({ id: string } & Record<string, unknown>) | null;

export interface CreateSchedulesInput {
  workflow: string;
  recipients: RecipientRequest[];
  actor?: RecipientRequest | null;
  tenant?: TenantInput;
  data?: Record<string, unknown> | null;
  repeats?: RepeatRuleInput[] | null;
  scheduled_at?: string | null;
  ending_at?: string | null;
}

export interface UpdateSchedulesInput {
  schedule_ids: string[];
  actor?: RecipientReference | null;
  tenant?: TenantInput;
  data?: Record<string, unknown> | null;
  repeats?: RepeatRuleInput[] | null;
  scheduled_at?: string | null;
  ending_at?: string | null;
}

export interface ScheduleWriteOptions {
  /** The zone rules run in for recipients without a valid `timezone` (default UTC). */
  accountTimezone?: string | null;
}

const invalid = (message: string, field: string, type = 'invalid') => errors.invalidParams(message, [{ field, message, type }]);
const hasProperties = (r: object) => Object.keys(r).some((k) => k !== 'id' && k !== 'collection');

function parseRules(input: RepeatRuleInput[] | null | undefined): RepeatRule[] {
  const { rules, errors: fieldErrors } = parseRepeatRules(input ?? []);
  if (fieldErrors.length > 0) throw errors.invalidParams(`Invalid repeat rule: ${fieldErrors.map((e) => `${e.field} ${e.message}`).join('; ')}`, fieldErrors);
  return rules;
}

function checkWindow(t: { scheduledAt: Date | null; endingAt: Date | null; repeats: RepeatRule[] }) {
  if (t.repeats.length === 0 && t.scheduledAt === null) {
    throw invalid('A schedule needs "repeats" (recurring) or "scheduled_at" (one-off).', 'repeats', 'required');
  }
  if (t.scheduledAt !== null && t.endingAt !== null && t.endingAt <= t.scheduledAt) {
    throw invalid('"ending_at" must be later than "scheduled_at".', 'ending_at');
  }
}

const dateOrNull = (v: string | null | undefined) => (v === undefined || v === null ? null : new Date(v));

/** The actor as an entity that exists: inline actors are identified; a bare user id must be known (as on trigger). */
async function resolveActor(tx: Queryable, actor: RecipientRequest | null | undefined, now: Date): Promise<EntityKey | null> {
  if (actor === undefined || actor === null) return null;
  const key = toEntityKey(actor);
  if (typeof actor === 'object' && hasProperties(actor)) {
    await identifyInline(tx, key, actor, now);
  } else if (key.collection === USERS) {
    if ((await getEntities(tx, [key])).length === 0) throw errors.actorMissing(key.id);
  } else {
    await ensureEntities(tx, [key], now);
  }
  return key;
}

/** The tenant id to store; an inline tenant is identified first (a bare id needs no registration). */
async function resolveTenant(tx: Queryable, tenant: TenantInput | undefined, now: Date): Promise<string | null> {
  if (tenant === undefined || tenant === null) return null;
  if (typeof tenant === 'string') return tenant;
  const { id, ...properties } = tenant;
  await identifyInline(tx, { collection: TENANTS, id }, properties, now);
  return id;
}

/**
 * Creates one schedule per distinct recipient (inline recipients identified, bare ids created
 * if unknown), each with its first occurrence computed in that recipient's time zone.
 */
export async function createSchedules(tx: Queryable, input: CreateSchedulesInput, now: Date, opts: ScheduleWriteOptions = {}): Promise<ScheduleRow[]> {
  if (!(await getWorkflowHead(tx, input.workflow))) {
    throw invalid(`No workflow with key "${input.workflow}" exists.`, 'workflow', 'missing');
  }
  const repeats = parseRules(input.repeats);
  const scheduledAt = dateOrNull(input.scheduled_at);
  const endingAt = dateOrNull(input.ending_at);
  checkWindow({ scheduledAt, endingAt, repeats });

  const seen = new Set<string>();
  const recipients: { key: EntityKey; index: number }[] = [];
  const plain: EntityKey[] = [];
  for (const [index, r] of input.recipients.entries()) {
    const key = toEntityKey(r);
    const id = `${key.collection}\u0000${key.id}`;
    if (seen.has(id)) continue;
    seen.add(id);
    recipients.push({ key, index });
    if (typeof r === 'object' && hasProperties(r)) await identifyInline(tx, key, r, now);
    else plain.push(key);
  }
  await ensureEntities(tx, plain, now);
  const actor = await resolveActor(tx, input.actor, now);
  const tenant = await resolveTenant(tx, input.tenant, now);

  const entities = await getEntities(tx, recipients.map((r) => r.key));
  const byKey = new Map(entities.map((e) => [`${e.collection}\u0000${e.id}`, e]));
  const rows = recipients.map(({ key, index }) => {
    const entity = byKey.get(`${key.collection}\u0000${key.id}`) as EntityRow;
    const zone = recipientZone(entity, `recipients[${index}].timezone`, opts);
    const timing: ScheduleTiming = { repeats, scheduledAt, endingAt, insertedAt: now };
    checkRulesOccur(timing, zone);
    const next = upcomingOccurrence(timing, now, zone);
    if (next === null) throw invalid('The schedule has no occurrence before "ending_at".', 'ending_at');
    return {
      id: randomUUID(), workflow_key: input.workflow, recipient: key, actor, tenant_id: tenant, data: input.data ?? null,
      repeats, scheduled_at: scheduledAt, ending_at: endingAt, next_occurrence_at: next,
    };
  });
  return insertSchedules(tx, rows, now);
}

/** A recipient's zone; a `timezone` that is set but not an IANA zone is the caller's error. */
function recipientZone(entity: EntityRow, field: string, opts: ScheduleWriteOptions): string {
  const tz = entity.properties.timezone;
  if (tz !== undefined && tz !== null && !isValidTimeZone(tz)) {
    throw invalid(`The recipient "${entity.id}" has timezone ${JSON.stringify(tz)}, which is not an IANA time zone (like "America/New_York").`, field);
  }
  return scheduleZone(tz, opts.accountTimezone);
}

function checkRulesOccur(timing: ScheduleTiming, zone: string) {
  const never = rulesThatNeverOccur(timing.repeats, timing.scheduledAt ?? timing.insertedAt, zone);
  if (never.length > 0) {
    const fieldErrors: FieldError[] = never.map((i) => ({ field: `repeats[${i}]`, message: 'never occurs (its interval never lands on its days)', type: 'invalid' }));
    throw errors.invalidParams('A repeat rule never occurs.', fieldErrors);
  }
}

/**
 * Applies the same fields to every listed schedule (absent = unchanged, null = cleared).
 * A change of timing recomputes the next occurrence from now (never re-firing the last one);
 * other changes keep it. Unknown ids are skipped. Returns the schedules as stored, in order.
 */
export async function updateSchedulesById(tx: Queryable, input: UpdateSchedulesInput, now: Date, opts: ScheduleWriteOptions = {}): Promise<ScheduleRow[]> {
  const existing = await getSchedules(tx, input.schedule_ids, { forUpdate: true });
  if (existing.length === 0) return [];
  const repeats = input.repeats === undefined ? undefined : parseRules(input.repeats);
  const actor = input.actor === undefined ? undefined : await resolveActor(tx, input.actor, now);
  const tenant = input.tenant === undefined ? undefined : await resolveTenant(tx, input.tenant, now);
  const timingChanged = input.repeats !== undefined || input.scheduled_at !== undefined || input.ending_at !== undefined;

  const updates = existing.map((s): { id: string } & ScheduleFields => {
    const timing: ScheduleTiming = {
      repeats: repeats ?? s.repeats,
      scheduledAt: input.scheduled_at === undefined ? s.scheduled_at : dateOrNull(input.scheduled_at),
      endingAt: input.ending_at === undefined ? s.ending_at : dateOrNull(input.ending_at),
      insertedAt: s.inserted_at,
    };
    let next = s.next_occurrence_at;
    if (timingChanged) {
      checkWindow(timing);
      const zone = scheduleZone(s.recipient.properties.timezone, opts.accountTimezone);
      checkRulesOccur(timing, zone);
      next = upcomingOccurrence(timing, now, zone, s.last_occurrence_at);
    }
    return {
      id: s.id,
      actor: actor === undefined ? (s.actor ? { collection: s.actor.collection, id: s.actor.id } : null) : actor,
      tenant_id: tenant === undefined ? s.tenant_id : tenant,
      data: input.data === undefined ? s.data : input.data,
      repeats: timing.repeats,
      scheduled_at: timing.scheduledAt,
      ending_at: timing.endingAt,
      next_occurrence_at: next,
    };
  });
  await updateSchedules(tx, updates, now);
  return getSchedules(tx, existing.map((s) => s.id));
}
