import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Knock from '@knocklabs/node';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { responseContract } from '../support/openapi.js';
import { feedTexts, runsOf } from '../support/runs.js';

const digest = {
  key: 'digest',
  name: 'Digest',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: '{{ data.kind | default: "digest" }} for {{ recipient.id }}' } }],
};
const other = { ...digest, key: 'other', name: 'Other' };

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe.each(engines)('schedules API (%s)', (engine) => {
  let t: TestHerald;
  // 2026-03-06 is a Friday; New York moves to EDT on Sunday 2026-03-08.
  beforeEach(async () => { t = await startTestHerald(engine, { workflows: [digest, other] }); t.clock.set('2026-03-06T12:00:00Z'); });
  afterEach(async () => { await t.close(); });

  /** Sets the clock and runs every due schedule and run. */
  const at = async (iso: string | Date) => { t.clock.set(iso); await t.drain(); };
  const runs = async (workflow = 'digest') => (await runsOf(t, workflow)).filter((r) => r.trigger_source.type === 'schedule');
  const getSchedule = async (id: string, workflow = 'digest') => {
    for await (const s of t.knock.schedules.list({ workflow })) if (s.id === id) return s;
    return null;
  };

  describe('create', () => {
    it("answers one Schedule per recipient with the full recipient, rules as ScheduleRepeat, and the next occurrence in the recipient's zone", async () => {
      await t.knock.users.update('ada', { name: 'Ada', timezone: 'America/New_York' });
      const created = await t.knock.schedules.create({
        workflow: 'digest',
        recipients: ['ada', { id: 'grace', name: 'Grace', timezone: 'Europe/Paris' }, { id: 'apollo', collection: 'projects', name: 'Apollo' }],
        repeats: [{ frequency: 'daily', hours: 9 }],
        data: { kind: 'daily' },
        tenant: 'acme',
      });
      expect(created.map((s) => s.recipient)).toMatchObject([
        { __typename: 'User', id: 'ada', name: 'Ada', timezone: 'America/New_York' },
        { __typename: 'User', id: 'grace', name: 'Grace', timezone: 'Europe/Paris' },
        { __typename: 'Object', id: 'apollo', collection: 'projects', properties: { name: 'Apollo' } },
      ]);
      expect(created[0]).toMatchObject({
        __typename: 'Schedule', workflow: 'digest', actor: null, tenant: 'acme', data: { kind: 'daily' },
        repeats: [{ __typename: 'ScheduleRepeat', frequency: 'daily', interval: 1, days: null, hours: 9, minutes: null, day_of_month: null }],
        last_occurrence_at: null, inserted_at: '2026-03-06T12:00:00.000Z', updated_at: '2026-03-06T12:00:00.000Z',
      });
      // 09:00 in New York (EST) is 14:00Z; in Paris (CET) 08:00Z, already past today; an object without a zone uses UTC.
      expect(created.map((s) => s.next_occurrence_at)).toEqual(['2026-03-06T14:00:00.000Z', '2026-03-07T08:00:00.000Z', '2026-03-07T09:00:00.000Z']);
      expect(await t.knock.users.get('grace')).toMatchObject({ name: 'Grace' });
    });

    it("matches Knock's OpenAPI response schema for create, update, list and delete", async () => {
      const check = (method: string, path: string, body: unknown) => expect(responseContract(method, path, 200).validate(body)).toEqual([]);
      const created = await http(t, 'POST', '/v1/schedules', { workflow: 'digest', recipients: ['ada'], actor: { id: 'bob', name: 'Bob' }, repeats: [{ frequency: 'weekly', days: 'weekdays', hours: 10, minutes: 30 }] });
      expect(created.status).toBe(200);
      check('POST', '/v1/schedules', created.body);
      expect(created.body[0].repeats[0].days).toEqual(['mon', 'tue', 'wed', 'thu', 'fri']);
      expect(created.body[0].actor).toMatchObject({ __typename: 'User', id: 'bob', name: 'Bob' });
      const ids = [created.body[0].id];
      check('PUT', '/v1/schedules', (await http(t, 'PUT', '/v1/schedules', { schedule_ids: ids, data: { x: 1 } })).body);
      check('GET', '/v1/schedules', (await http(t, 'GET', '/v1/schedules?workflow=digest')).body);
      check('GET', '/v1/users/{user_id}/schedules', (await http(t, 'GET', '/v1/users/ada/schedules')).body);
      check('DELETE', '/v1/schedules', (await http(t, 'DELETE', '/v1/schedules', { schedule_ids: ids })).body);
    });

    it('creates one schedule per distinct recipient', async () => {
      const created = await t.knock.schedules.create({ workflow: 'digest', recipients: ['ada', 'ada', { id: 'ada' }], scheduled_at: '2026-03-07T00:00:00Z' });
      expect(created).toHaveLength(1);
    });
  });

  describe('list', () => {
    it("lists a workflow's schedules newest first, page by page, filtered by recipients and tenant", async () => {
      for (const [user, tenant] of [['u1', 'acme'], ['u2', null], ['u3', 'acme'], ['u4', 'globex']] as const) {
        await t.knock.schedules.create({ workflow: 'digest', recipients: [user], repeats: [{ frequency: 'daily' }], tenant });
        t.clock.advance(1000);
      }
      await t.knock.schedules.create({ workflow: 'other', recipients: ['u1'], repeats: [{ frequency: 'daily' }] });
      const ids = async (q: Parameters<typeof t.knock.schedules.list>[0]) => {
        const out: string[] = [];
        for await (const s of t.knock.schedules.list(q)) out.push((s.recipient as { id: string }).id);
        return out;
      };
      expect(await ids({ workflow: 'digest', page_size: 3 })).toEqual(['u4', 'u3', 'u2', 'u1']);
      expect(await ids({ workflow: 'digest', recipients: ['u1', 'u3'] })).toEqual(['u3', 'u1']);
      expect(await ids({ workflow: 'digest', tenant: 'acme' })).toEqual(['u3', 'u1']);
      expect(await ids({ workflow: 'other' })).toEqual(['u1']);
    });

    it('users.listSchedules and objects.listSchedules list one recipient\'s schedules, filtered by workflow', async () => {
      await t.knock.schedules.create({ workflow: 'digest', recipients: ['ada', { id: 'apollo', collection: 'projects' }], repeats: [{ frequency: 'daily' }] });
      t.clock.advance(1000);
      await t.knock.schedules.create({ workflow: 'other', recipients: ['ada'], repeats: [{ frequency: 'weekly' }], tenant: 'acme' });
      const workflows = async (it: AsyncIterable<{ workflow: string }>) => { const out: string[] = []; for await (const s of it) out.push(s.workflow); return out; };
      expect(await workflows(t.knock.users.listSchedules('ada'))).toEqual(['other', 'digest']);
      expect(await workflows(t.knock.users.listSchedules('ada', { workflow: 'digest' }))).toEqual(['digest']);
      expect(await workflows(t.knock.users.listSchedules('ada', { tenant: 'acme' }))).toEqual(['other']);
      expect(await workflows(t.knock.objects.listSchedules('projects', 'apollo'))).toEqual(['digest']);
      // An object reference in the workflow list's recipients[] filter (sent as recipients[0][id]=…).
      const filtered = await t.knock.schedules.list({ workflow: 'digest', recipients: [{ id: 'apollo', collection: 'projects' }] });
      expect(filtered.entries.map((s) => s.recipient)).toMatchObject([{ __typename: 'Object', id: 'apollo', collection: 'projects' }]);
      expect(await workflows(t.knock.users.listSchedules('nobody'))).toEqual([]);
    });
  });

  describe('update', () => {
    it('applies the same fields to every listed schedule; changing only data keeps the next occurrence', async () => {
      const created = await t.knock.schedules.create({ workflow: 'digest', recipients: ['ada', 'bob'], repeats: [{ frequency: 'daily', hours: 18 }], data: { kind: 'old' } });
      t.clock.advance(MINUTE);
      const updated = await t.knock.schedules.update({ schedule_ids: created.map((s) => s.id), data: { kind: 'new' }, tenant: { id: 'acme', name: 'Acme' } });
      expect(updated.map((s) => [s.data, s.tenant, s.next_occurrence_at, s.updated_at])).toEqual([
        [{ kind: 'new' }, 'acme', '2026-03-06T18:00:00.000Z', '2026-03-06T12:01:00.000Z'],
        [{ kind: 'new' }, 'acme', '2026-03-06T18:00:00.000Z', '2026-03-06T12:01:00.000Z'],
      ]);
      expect(await t.knock.tenants.get('acme')).toMatchObject({ name: 'Acme' });
    });

    it('new repeats recompute the next occurrence; repeats [] with scheduled_at turns it into a one-off', async () => {
      const [s] = await t.knock.schedules.create({ workflow: 'digest', recipients: ['ada'], repeats: [{ frequency: 'daily', hours: 18 }] });
      const [weekly] = await t.knock.schedules.update({ schedule_ids: [s.id], repeats: [{ frequency: 'weekly', days: ['mon'], hours: 7 }] });
      expect(weekly.next_occurrence_at).toBe('2026-03-09T07:00:00.000Z');
      const [once] = await t.knock.schedules.update({ schedule_ids: [s.id], repeats: [], scheduled_at: '2026-03-20T10:00:00Z' });
      expect(once).toMatchObject({ repeats: [], next_occurrence_at: '2026-03-20T10:00:00.000Z' });
    });

    it('skips unknown ids', async () => {
      const [s] = await t.knock.schedules.create({ workflow: 'digest', recipients: ['ada'], scheduled_at: '2026-03-07T00:00:00Z' });
      const updated = await t.knock.schedules.update({ schedule_ids: [s.id, '00000000-0000-4000-8000-000000000000', 'not-a-uuid'], data: { a: 1 } });
      expect(updated.map((u) => u.id)).toEqual([s.id]);
    });
  });

  describe('delete', () => {
    it('answers the deleted schedules, which are gone and never fire', async () => {
      const created = await t.knock.schedules.create({ workflow: 'digest', recipients: ['ada', 'bob'], scheduled_at: '2026-03-06T13:00:00Z' });
      const deleted = await t.knock.schedules.delete({ schedule_ids: [created[0].id, '00000000-0000-4000-8000-000000000000'] });
      expect(deleted.map((s) => [s.id, (s.recipient as { id: string }).id])).toEqual([[created[0].id, 'ada']]);
      expect(await getSchedule(created[0].id)).toBeNull();
      await at('2026-03-06T14:00:00Z');
      expect((await runs()).map((r) => r.recipient)).toEqual(['bob']);
    });

    it("deleting a recipient deletes its schedules", async () => {
      await t.knock.schedules.create({ workflow: 'digest', recipients: ['ada'], repeats: [{ frequency: 'daily' }] });
      await t.knock.users.delete('ada');
      expect((await http(t, 'GET', '/v1/schedules?workflow=digest')).body.entries).toEqual([]);
    });
  });

  describe('firing', () => {
    it('a one-off fires once at scheduled_at, not before, with trigger_source {type: "schedule", schedule_id}', async () => {
      const [s] = await t.knock.schedules.create({ workflow: 'digest', recipients: ['ada'], scheduled_at: '2026-03-06T15:00:00Z', data: { kind: 'reminder' } });
      await at('2026-03-06T14:59:59Z');
      expect(await runs()).toEqual([]);
      await at('2026-03-06T15:00:00Z');
      const fired = await runs();
      expect(fired).toHaveLength(1);
      expect(fired[0]).toMatchObject({ recipient: 'ada', status: 'completed', trigger_source: { type: 'schedule', schedule_id: s.id } });
      expect(await feedTexts(t, 'ada')).toEqual(['reminder for ada']);
      await at('2026-03-09T00:00:00Z');
      expect(await runs()).toHaveLength(1);
      expect(await getSchedule(s.id)).toMatchObject({ last_occurrence_at: '2026-03-06T15:00:00.000Z', next_occurrence_at: null });
    });

    it('a daily 09:00 rule in America/New_York fires at 14:00Z before the DST change and 13:00Z after it', async () => {
      await t.knock.users.update('ada', { timezone: 'America/New_York' });
      const [s] = await t.knock.schedules.create({ workflow: 'digest', recipients: ['ada'], repeats: [{ frequency: 'daily', hours: 9 }] });
      const fireTimes: string[] = [];
      let next = s.next_occurrence_at!;
      for (let i = 0; i < 4; i++) {
        await at(new Date(new Date(next).getTime() - MINUTE));
        expect(await runs()).toHaveLength(i);
        await at(next);
        expect(await runs()).toHaveLength(i + 1);
        const now = (await getSchedule(s.id))!;
        fireTimes.push(now.last_occurrence_at!);
        next = now.next_occurrence_at!;
      }
      expect(fireTimes).toEqual(['2026-03-06T14:00:00.000Z', '2026-03-07T14:00:00.000Z', '2026-03-08T13:00:00.000Z', '2026-03-09T13:00:00.000Z']);
      expect(next).toBe('2026-03-10T13:00:00.000Z');
    });

    it('ending_at stops a recurrence', async () => {
      const [s] = await t.knock.schedules.create({ workflow: 'digest', recipients: ['ada'], repeats: [{ frequency: 'daily', hours: 20 }], ending_at: '2026-03-07T21:00:00Z' });
      for (let day = 0; day < 4; day++) await at(new Date(Date.parse('2026-03-06T20:00:00Z') + day * DAY));
      expect(await runs()).toHaveLength(2);
      expect(await getSchedule(s.id)).toMatchObject({ last_occurrence_at: '2026-03-07T20:00:00.000Z', next_occurrence_at: null });
    });

    it('after the clock jumps past several occurrences, fires once for the latest and continues after now', async () => {
      const [s] = await t.knock.schedules.create({ workflow: 'digest', recipients: ['ada'], repeats: [{ frequency: 'daily', hours: 13 }] });
      await at('2026-03-09T16:00:00Z'); // 13:00 on the 6th, 7th, 8th and 9th have all passed
      expect(await runs()).toHaveLength(1);
      expect(await getSchedule(s.id)).toMatchObject({ last_occurrence_at: '2026-03-09T13:00:00.000Z', next_occurrence_at: '2026-03-10T13:00:00.000Z' });
    });

    it('passes actor, tenant and data to the run', async () => {
      await t.knock.schedules.create({ workflow: 'digest', recipients: ['ada'], actor: { id: 'bob', name: 'Bob' }, tenant: 'acme', data: { kind: 'weekly' }, scheduled_at: '2026-03-06T12:30:00Z' });
      await at('2026-03-06T12:30:00Z');
      const [run] = await runs();
      expect(run).toMatchObject({ recipient: 'ada', actor: 'bob', tenant: 'acme' });
      expect(await feedTexts(t, 'ada')).toEqual(['weekly for ada']);
    });

    it('an object recipient runs once and is not fanned out to its subscribers', async () => {
      await t.knock.objects.set('projects', 'apollo', { name: 'Apollo' });
      await t.knock.objects.addSubscriptions('projects', 'apollo', { recipients: ['ada', 'bob'] });
      await t.knock.schedules.create({ workflow: 'digest', recipients: [{ id: 'apollo', collection: 'projects' }], scheduled_at: '2026-03-06T13:00:00Z' });
      await at('2026-03-06T13:00:00Z');
      expect((await runs()).map((r) => r.recipient)).toEqual([{ id: 'apollo', collection: 'projects' }]);
    });
  });

  describe('bulk create', () => {
    it('answers a queued BulkOperation, then creates each item\'s schedule and reports the items that failed', async () => {
      const op = await t.knock.schedules.bulk.create({
        schedules: [
          { workflow: 'digest', recipient: { id: 'ada', timezone: 'America/New_York' }, repeats: [{ frequency: 'daily', hours: 9 }], data: { kind: 'bulk' } },
          { workflow: 'digest', recipient: { id: 'apollo', collection: 'projects' }, scheduled_at: '2026-03-06T13:00:00Z' },
          { workflow: 'nope', recipient: 'zed', scheduled_at: '2026-03-06T13:00:00Z' },
        ],
      });
      expect(op).toMatchObject({ __typename: 'BulkOperation', name: 'schedules.bulk_create', status: 'queued', estimated_total_rows: 3 });
      expect(responseContract('POST', '/v1/schedules/bulk/create', 200).validate(op)).toEqual([]);
      expect((await http(t, 'GET', '/v1/schedules?workflow=digest')).body.entries).toEqual([]);

      await t.drain();
      expect(await t.knock.bulkOperations.get(op.id)).toMatchObject({
        status: 'completed', processed_rows: 3, success_count: 2, error_count: 1,
        error_items: [{ id: 'zed', message: expect.stringContaining('No workflow with key "nope"') }],
      });
      const ada = (await t.knock.users.listSchedules('ada')).entries[0];
      expect(ada).toMatchObject({ data: { kind: 'bulk' }, next_occurrence_at: '2026-03-06T14:00:00.000Z' });
      await at('2026-03-06T14:00:00Z');
      const fired = (await runs()).map((r) => r.recipient);
      expect(fired).toHaveLength(2);
      expect(fired).toEqual(expect.arrayContaining(['ada', { id: 'apollo', collection: 'projects' }]));
    });

    it('rejects a malformed item with 422 before storing anything', async () => {
      const res = await http(t, 'POST', '/v1/schedules/bulk/create', { schedules: [{ workflow: 'digest', recipient: 'ada', repeats: [{ frequency: 'daily', minutes: 3 }] }] });
      expect(res.status).toBe(422);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['schedules[0].repeats[0].minutes']);
    });
  });

  describe('validation (422 invalid_params)', () => {
    const create = (body: Record<string, unknown>) => http(t, 'POST', '/v1/schedules', { workflow: 'digest', recipients: ['ada'], ...body });
    const fields = (res: { body: { errors: { field: string }[] } }) => res.body.errors.map((e) => e.field);

    it('rejects an unknown workflow', async () => {
      const res = await create({ workflow: 'nope', scheduled_at: '2026-03-07T00:00:00Z' });
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'invalid_params', type: 'invalid_request_error', errors: [{ field: 'workflow', type: 'missing' }] });
      await expect(t.knock.schedules.create({ workflow: 'nope', recipients: ['ada'], scheduled_at: '2026-03-07T00:00:00Z' })).rejects.toBeInstanceOf(Knock.UnprocessableEntityError);
    });

    it('rejects out-of-range rule fields, naming each', async () => {
      const res = await create({ repeats: [{ frequency: 'daily', minutes: 7, hours: 24 }, { frequency: 'yearly' }] });
      expect(res.status).toBe(422);
      expect(fields(res)).toEqual(expect.arrayContaining(['repeats[0].minutes', 'repeats[0].hours', 'repeats[1].frequency']));
    });

    it('rejects a schedule with neither repeats nor scheduled_at, and ending_at before scheduled_at', async () => {
      expect(fields(await create({}))).toEqual(['repeats']);
      expect(fields(await create({ scheduled_at: '2026-03-08T00:00:00Z', ending_at: '2026-03-07T00:00:00Z' }))).toEqual(['ending_at']);
    });

    it('rejects a rule that never occurs', async () => {
      // From Friday 2026-03-06, every 7th day is a Friday, never a Monday.
      expect(fields(await create({ repeats: [{ frequency: 'daily', interval: 7, days: ['mon'] }] }))).toEqual(['repeats[0]']);
    });

    it('rejects a recipient whose timezone is not an IANA zone, and identifies nobody', async () => {
      const res = await http(t, 'POST', '/v1/schedules', { workflow: 'digest', recipients: ['ada', { id: 'zed', timezone: 'Mars/Olympus' }], repeats: [{ frequency: 'daily' }] });
      expect(res.status).toBe(422);
      expect(fields(res)).toEqual(['recipients[1].timezone']);
      await expect(t.knock.users.get('zed')).rejects.toBeInstanceOf(Knock.NotFoundError);
      expect((await http(t, 'GET', '/v1/schedules?workflow=digest')).body.entries).toEqual([]);
    });

    it('rejects more than 100 recipients, a list without workflow, and an unknown actor', async () => {
      expect(fields(await create({ recipients: Array.from({ length: 101 }, (_, i) => `u${i}`), scheduled_at: '2026-03-07T00:00:00Z' }))).toEqual(['recipients']);
      expect(fields(await http(t, 'GET', '/v1/schedules'))).toEqual(['querystring.workflow']);
      const res = await create({ actor: 'ghost', scheduled_at: '2026-03-07T00:00:00Z' });
      expect(res.body).toMatchObject({ status: 422, code: 'actor_missing' });
    });
  });
});
