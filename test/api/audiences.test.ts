import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Knock from '@knocklabs/node';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { responseContract } from '../support/openapi.js';

describe.each(engines)('audiences (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine); });
  afterEach(async () => { await t.close(); });

  const memberIds = async (key: string) =>
    (await t.knock.audiences.listMembers(key)).entries.map((m) => (m.tenant ? `${m.user_id}@${m.tenant}` : m.user_id));

  it('adds members (identifying inline users) and lists them with their full user, oldest first', async () => {
    await t.knock.users.update('bob', { name: 'Bob', email: 'bob@example.com' });
    await t.knock.audiences.addMembers('beta-testers', {
      members: [{ user: { id: 'ada', name: 'Ada', plan: 'pro' } as any }, { user: { id: 'bob' }, tenant: 'acme' }],
    });
    const list = await t.knock.audiences.listMembers('beta-testers');
    expect(list).toEqual({
      entries: [
        {
          __typename: 'AudienceMember', user_id: 'ada', tenant: null, added_at: '2026-03-01T12:00:00.000Z',
          user: { __typename: 'User', id: 'ada', name: 'Ada', plan: 'pro', email: null, phone_number: null, avatar: null, timezone: null, created_at: null, updated_at: '2026-03-01T12:00:00.000Z' },
        },
        {
          __typename: 'AudienceMember', user_id: 'bob', tenant: 'acme', added_at: '2026-03-01T12:00:00.000Z',
          user: expect.objectContaining({ id: 'bob', name: 'Bob', email: 'bob@example.com' }),
        },
      ],
      page_info: { __typename: 'PageInfo', after: null, before: null, page_size: 50 },
    });
    expect(responseContract('GET', '/v1/audiences/{key}/members', 200).validate(list)).toEqual([]);
  });

  it('answers 204 with no body to add and remove', async () => {
    const add = await http(t, 'POST', '/v1/audiences/vip/members', { members: [{ user: { id: 'ada' } }] });
    expect(add).toMatchObject({ status: 204, body: undefined });
    const remove = await http(t, 'DELETE', '/v1/audiences/vip/members', { members: [{ user: { id: 'ada' } }] });
    expect(remove).toMatchObject({ status: 204, body: undefined });
  });

  it('keeps one membership per user and tenant; adding it again keeps its first added_at', async () => {
    await t.knock.audiences.addMembers('vip', { members: [{ user: { id: 'ada' } }] });
    t.clock.advance(60_000);
    await t.knock.audiences.addMembers('vip', { members: [{ user: { id: 'ada' } }, { user: { id: 'ada' }, tenant: 'acme' }] });
    const list = await t.knock.audiences.listMembers('vip');
    expect(list.entries.map((m) => [m.user_id, m.tenant, m.added_at])).toEqual([
      ['ada', null, '2026-03-01T12:00:00.000Z'],
      ['ada', 'acme', '2026-03-01T12:01:00.000Z'],
    ]);
  });

  it('removes the given memberships (matched by user and tenant) and ignores ones that do not exist', async () => {
    await t.knock.audiences.addMembers('vip', {
      members: [{ user: { id: 'ada' } }, { user: { id: 'ada' }, tenant: 'acme' }, { user: { id: 'bob' } }],
    });
    await t.knock.audiences.removeMembers('vip', { members: [{ user: { id: 'ada' }, tenant: 'acme' }, { user: { id: 'bob' } }, { user: { id: 'zed' } }] });
    expect(await memberIds('vip')).toEqual(['ada']);
    // The users themselves are untouched.
    expect(await t.knock.users.get('bob')).toMatchObject({ id: 'bob' });
  });

  it('creates an audience on first add; with create_audience=false an unknown audience is a 404', async () => {
    await expect(t.knock.audiences.listMembers('new')).rejects.toBeInstanceOf(Knock.NotFoundError);
    await expect(t.knock.audiences.addMembers('new', { members: [{ user: { id: 'ada' } }], create_audience: false }))
      .rejects.toBeInstanceOf(Knock.NotFoundError);
    await expect(t.knock.audiences.removeMembers('new', { members: [{ user: { id: 'ada' } }] })).rejects.toBeInstanceOf(Knock.NotFoundError);

    await t.knock.audiences.addMembers('new', { members: [{ user: { id: 'ada' } }], create_audience: true });
    await t.knock.audiences.addMembers('new', { members: [{ user: { id: 'bob' } }], create_audience: false });
    expect(await memberIds('new')).toEqual(['ada', 'bob']);
    // Emptied, the audience still exists.
    await t.knock.audiences.removeMembers('new', { members: [{ user: { id: 'ada' } }, { user: { id: 'bob' } }] });
    expect((await t.knock.audiences.listMembers('new')).entries).toEqual([]);
  });

  it('pages through members with after/before cursors (a Herald extension of listMembers)', async () => {
    for (const id of ['a', 'b', 'c']) {
      await t.knock.audiences.addMembers('vip', { members: [{ user: { id } }] });
      t.clock.advance(1000);
    }
    const first = await http(t, 'GET', '/v1/audiences/vip/members?page_size=2');
    expect(first.body.entries.map((m: any) => m.user_id)).toEqual(['a', 'b']);
    expect(first.body.page_info.after).toEqual(expect.any(String));
    const second = await http(t, 'GET', `/v1/audiences/vip/members?page_size=2&after=${first.body.page_info.after}`);
    expect(second.body.entries.map((m: any) => m.user_id)).toEqual(['c']);
    expect(second.body.page_info.after).toBeNull();
    const back = await http(t, 'GET', `/v1/audiences/vip/members?page_size=2&before=${second.body.page_info.before}`);
    expect(back.body.entries.map((m: any) => m.user_id)).toEqual(['a', 'b']);
  });

  it('drops a deleted user from every audience', async () => {
    await t.knock.audiences.addMembers('vip', { members: [{ user: { id: 'ada' } }, { user: { id: 'bob' } }] });
    await t.knock.users.delete('ada');
    expect(await memberIds('vip')).toEqual(['bob']);
  });

  it('refuses more than 1,000 members and a member without a user id (422), changing nothing', async () => {
    const many = Array.from({ length: 1001 }, (_, i) => ({ user: { id: `u${i}` } }));
    const tooMany = await http(t, 'POST', '/v1/audiences/vip/members', { members: many });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body).toMatchObject({ code: 'invalid_params', type: 'invalid_request_error' });
    const noId = await http(t, 'POST', '/v1/audiences/vip/members', { members: [{ user: { name: 'Nobody' } }] });
    expect(noId.status).toBe(422);
    expect((await http(t, 'GET', '/v1/audiences/vip/members')).status).toBe(404);
  });
});
