import { Type } from '@sinclair/typebox';
import { USERS, toEntityKey, type EntityKey } from '../../domain/recipients.js';
import { FREQUENCIES, MAX_INTERVAL, WEEKDAYS } from '../../domain/schedule-repeat.js';
import { createSchedules, updateSchedulesById } from '../../store/schedule-writes.js';
import { deleteSchedules, listSchedules, type ScheduleFilter } from '../../store/schedules.js';
import { CursorQuery, Id, RecipientReference, RecipientRequest, TenantRequest, pageInfo } from '../schemas/common.js';
import { AnyObject, Nullable } from '../schemas/identify.js';
import { serializeSchedule } from '../serializers/schedules.js';
import type { ApiDeps, App } from '../types.js';
import { acceptBulkOperation } from './bulk-operations.js';
import { objectKey } from './entity-helpers.js';

const Timestamp = Nullable(Type.String({ format: 'date-time' }));

const RepeatRule = Type.Object({
  __typename: Type.Optional(Type.String()),
  frequency: Type.Union(FREQUENCIES.map((f) => Type.Literal(f))),
  interval: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: MAX_INTERVAL, description: 'Periods between runs, counted from the start (default 1)' }))),
  days: Type.Optional(Type.Union([
    Type.Array(Type.Union(WEEKDAYS.map((d) => Type.Literal(d)))),
    Type.Literal('weekdays'),
    Type.Literal('weekends'),
    Type.Null(),
  ], { description: 'Days of the week (weekly), or a filter for the other frequencies' })),
  hours: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 23, description: "Local hour (default 0); for hourly, a filter" }))),
  minutes: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 55, multipleOf: 5, description: 'Local minute: 0, 5, ..., 55 (default 0)' }))),
  day_of_month: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 31, description: "Day of the month; past a month's end = its last day" }))),
}, { additionalProperties: true });

const Timing = {
  repeats: Type.Optional(Type.Array(RepeatRule, { maxItems: 20, description: "Rules evaluated in the recipient's timezone; [] = one-off" })),
  scheduled_at: Type.Optional(Timestamp),
  ending_at: Type.Optional(Timestamp),
  data: Type.Optional(Nullable(AnyObject)),
  tenant: Type.Optional(Type.Union([TenantRequest, Type.Null()])),
};

const CreateBody = Type.Object({
  workflow: Id,
  recipients: Type.Array(RecipientRequest, { minItems: 1, maxItems: 100, description: 'User ids, object references, or inline users/objects (identified first)' }),
  actor: Type.Optional(Type.Union([RecipientRequest, Type.Null()])),
  ...Timing,
});
const ScheduleIds = Type.Array(Id, { minItems: 1, maxItems: 100 });
const UpdateBody = Type.Object({
  schedule_ids: ScheduleIds,
  actor: Type.Optional(Type.Union([RecipientReference, Type.Null()])),
  ...Timing,
});
const DeleteBody = Type.Object({ schedule_ids: ScheduleIds });
const BulkCreateBody = Type.Object({
  schedules: Type.Array(Type.Object({
    workflow: Id,
    recipient: RecipientRequest,
    actor: Type.Optional(Type.Union([RecipientRequest, Type.Null()])),
    ...Timing,
  }), { maxItems: 1000 }),
});

const ListQuery = Type.Composite([CursorQuery, Type.Object({
  workflow: Id,
  recipients: Type.Optional(Type.Array(RecipientReference, { maxItems: 100 })),
  tenant: Type.Optional(Type.String()),
})]);
const RecipientListQuery = Type.Composite([CursorQuery, Type.Object({
  workflow: Type.Optional(Id),
  tenant: Type.Optional(Type.String()),
})]);

/**
 * Schedules (knock-api.md §2.6, §3.8, §5.15): per-recipient timers that trigger a workflow once
 * (`scheduled_at`) or on repeat rules in the recipient's time zone. The background task in
 * src/queue/schedule-task.ts fires them.
 */
export function registerScheduleRoutes(app: App, deps: ApiDeps): void {
  const tags = ['schedules'];

  app.post('/v1/schedules', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Create one schedule per recipient (inline recipients, actor and tenant are identified)', body: CreateBody },
  }, async (request) => {
    const rows = await deps.db.transaction((tx) => createSchedules(tx, request.body as any, deps.clock.now()));
    return rows.map(serializeSchedule);
  });

  app.put('/v1/schedules', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Apply the same fields to several schedules (absent = unchanged, null = cleared; `repeats: []` makes them one-off)', body: UpdateBody },
  }, async (request) => {
    const rows = await deps.db.transaction((tx) => updateSchedulesById(tx, request.body as any, deps.clock.now()));
    return rows.map(serializeSchedule);
  });

  app.get('/v1/schedules', {
    config: { auth: 'secret' },
    schema: { tags, summary: "List a workflow's schedules, newest first", querystring: ListQuery },
  }, async (request) => {
    const q = request.query;
    return page(deps, { workflow: q.workflow, recipients: q.recipients?.map(toEntityKey), tenant: q.tenant }, q);
  });

  app.delete('/v1/schedules', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Delete schedules; returns the deleted ones (unknown ids are skipped)', body: DeleteBody },
  }, async (request) => {
    const rows = await deps.db.transaction((tx) => deleteSchedules(tx, request.body.schedule_ids));
    return rows.map(serializeSchedule);
  });

  app.post('/v1/schedules/bulk/create', {
    config: { auth: 'secret' },
    schema: { tags: [...tags, 'bulk operations'], summary: 'Create up to 1,000 schedules (one recipient each); answers a queued BulkOperation', body: BulkCreateBody },
  }, async (request) => acceptBulkOperation(deps, request, 'schedules.bulk_create', request.body.schedules));

  app.get('/v1/users/:user_id/schedules', {
    config: { auth: 'secret' },
    schema: { tags: ['users'], summary: "List a user's schedules, newest first", params: Type.Object({ user_id: Id }), querystring: RecipientListQuery },
  }, async (request) => listForRecipient(deps, { collection: USERS, id: request.params.user_id }, request.query));

  app.get('/v1/objects/:collection/:object_id/schedules', {
    config: { auth: 'secret' },
    schema: { tags: ['objects'], summary: "List an object's schedules, newest first", params: Type.Object({ collection: Id, object_id: Id }), querystring: RecipientListQuery },
  }, async (request) => listForRecipient(deps, objectKey(request.params.collection, request.params.object_id), request.query));
}

function listForRecipient(deps: ApiDeps, key: EntityKey, q: { workflow?: string; tenant?: string } & CursorQuery) {
  return page(deps, { workflow: q.workflow, recipients: [key], tenant: q.tenant }, q);
}

async function page(deps: ApiDeps, filter: ScheduleFilter, q: CursorQuery) {
  const pageSize = q.page_size ?? 50;
  const result = await listSchedules(deps.db, filter, { after: q.after, before: q.before, pageSize });
  return { entries: result.entries.map(serializeSchedule), page_info: pageInfo(pageSize, result.after, result.before) };
}
