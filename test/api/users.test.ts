import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Knock from '@knocklabs/node';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';

/** The seeded in-app channel's UUID: every channel_id path takes it or the key 'in-app-feed'. */
async function feedChannelId(t: TestHerald): Promise<string> {
  const rows = await t.db.query<{ id: string }>("SELECT id FROM channels WHERE key = 'in-app-feed'");
  return rows[0].id;
}

describe.each(engines)('users API (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine); });
  afterEach(async () => { await t.close(); });

  describe('identify and get', () => {
    it('creates a user and answers with Knock\'s User shape: custom properties at the top level, unset well-known fields null', async () => {
      const user = await t.knock.users.update('ada', { name: 'Ada Lovelace', email: 'ada@example.com', plan: 'pro' });
      expect(user).toEqual({
        __typename: 'User',
        id: 'ada',
        name: 'Ada Lovelace',
        email: 'ada@example.com',
        plan: 'pro',
        phone_number: null,
        avatar: null,
        timezone: null,
        created_at: null,
        updated_at: '2026-03-01T12:00:00.000Z',
      });
      expect(await t.knock.users.get('ada')).toEqual(user);
    });

    it('merges a later identify over the stored properties instead of replacing them', async () => {
      await t.knock.users.update('ada', { name: 'Ada', email: 'ada@example.com', plan: 'free' });
      t.clock.advance(60_000);
      const user = await t.knock.users.update('ada', { plan: 'pro', team: 'analytics' });
      expect(user).toMatchObject({ name: 'Ada', email: 'ada@example.com', plan: 'pro', team: 'analytics', updated_at: '2026-03-01T12:01:00.000Z' });
    });

    it('clears a property sent as an explicit null', async () => {
      await t.knock.users.update('ada', { phone_number: '+15555550100', name: 'Ada' });
      const user = await t.knock.users.update('ada', { phone_number: null });
      expect(user.phone_number).toBeNull();
      expect(user.name).toBe('Ada');
    });

    it('stores created_at from the caller and keeps it when later identifies omit it', async () => {
      await t.knock.users.update('ada', { created_at: '2020-01-02T03:04:05Z' });
      const user = await t.knock.users.update('ada', { name: 'Ada' });
      expect(user.created_at).toBe('2020-01-02T03:04:05.000Z');
    });

    it('never lets a stored property shadow id or __typename', async () => {
      const user = await t.knock.users.update('ada', { id: 'mallory', __typename: 'Hacker' } as never);
      expect(user).toMatchObject({ id: 'ada', __typename: 'User' });
    });

    it('rejects a created_at that is not a timestamp with a 422 naming the field', async () => {
      const res = await http(t, 'PUT', '/v1/users/ada', { created_at: 'yesterday' });
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'invalid_params', status: 422, type: 'invalid_request_error' });
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'created_at' })]);
    });

    it('answers 404 resource_missing in Knock\'s error shape for an unknown user', async () => {
      const res = await http(t, 'GET', '/v1/users/nobody');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ code: 'resource_missing', message: 'User "nobody" was not found.', status: 404, type: 'invalid_request_error' });
      await expect(t.knock.users.get('nobody')).rejects.toBeInstanceOf(Knock.NotFoundError);
    });

    it('accepts ids that need URL encoding', async () => {
      await t.knock.users.update('ada@example.com/1 2', { name: 'Odd id' });
      expect((await t.knock.users.get('ada@example.com/1 2')).name).toBe('Odd id');
    });
  });

  describe('delete', () => {
    it('answers 204 with no body and the user is gone', async () => {
      await t.knock.users.update('ada', { name: 'Ada' });
      const res = await http(t, 'DELETE', '/v1/users/ada');
      expect(res.status).toBe(204);
      expect(res.body).toBeUndefined();
      await expect(t.knock.users.get('ada')).rejects.toBeInstanceOf(Knock.NotFoundError);
    });

    it('is idempotent through the SDK: deleting an unknown user also succeeds', async () => {
      // The SDK resolves void endpoints (204, no body) to null.
      await expect(t.knock.users.delete('nobody')).resolves.toBeNull();
    });

    it('removes the user\'s channel data with it, so a re-identified user starts clean', async () => {
      await t.knock.users.setChannelData('ada', 'in-app-feed', { data: { tokens: ['t1'] } });
      await t.knock.users.delete('ada');
      await t.knock.users.update('ada', { name: 'Ada again' });
      await expect(t.knock.users.getChannelData('ada', 'in-app-feed')).rejects.toBeInstanceOf(Knock.NotFoundError);
    });
  });

  describe('list', () => {
    async function identifyFive() {
      for (const id of ['u1', 'u2', 'u3', 'u4', 'u5']) {
        await t.knock.users.update(id, { name: id.toUpperCase() });
        t.clock.advance(1000);
      }
    }

    it('pages through every user oldest first with the SDK\'s async iterator', async () => {
      await identifyFive();
      const ids: string[] = [];
      for await (const user of t.knock.users.list({ page_size: 2 })) ids.push(user.id);
      expect(ids).toEqual(['u1', 'u2', 'u3', 'u4', 'u5']);
    });

    it('returns the entries envelope with page_info cursors that walk forward and back', async () => {
      await identifyFive();
      const first = await http(t, 'GET', '/v1/users?page_size=2');
      expect(first.body.entries.map((u: { id: string }) => u.id)).toEqual(['u1', 'u2']);
      expect(first.body.page_info).toMatchObject({ __typename: 'PageInfo', page_size: 2, before: null });
      expect(first.body.page_info.after).toEqual(expect.any(String));

      const second = await http(t, 'GET', `/v1/users?page_size=2&after=${encodeURIComponent(first.body.page_info.after)}`);
      expect(second.body.entries.map((u: { id: string }) => u.id)).toEqual(['u3', 'u4']);

      const back = await http(t, 'GET', `/v1/users?page_size=2&before=${encodeURIComponent(second.body.page_info.before)}`);
      expect(back.body.entries.map((u: { id: string }) => u.id)).toEqual(['u1', 'u2']);

      const last = await http(t, 'GET', `/v1/users?page_size=2&after=${encodeURIComponent(second.body.page_info.after)}`);
      expect(last.body.entries.map((u: { id: string }) => u.id)).toEqual(['u5']);
      expect(last.body.page_info.after).toBeNull();
    });

    it('includes each user\'s preference sets for include[]=preferences, in every query encoding', async () => {
      await t.knock.users.update('ada', { preferences: { default: { channel_types: { email: false } } } });
      for (const query of ['include[]=preferences', 'include[0]=preferences', 'include=preferences']) {
        const res = await http(t, 'GET', `/v1/users?${query}`);
        expect(res.status).toBe(200);
        expect(res.body.entries[0].preferences).toEqual({ default: { id: 'default', channel_types: { email: false } } });
      }
      const plain = await http(t, 'GET', '/v1/users');
      expect(plain.body.entries[0]).not.toHaveProperty('preferences');
    });

    it('rejects a cursor it did not issue and a page_size above 50 with 422', async () => {
      const badCursor = await http(t, 'GET', '/v1/users?after=not-a-cursor');
      expect(badCursor.status).toBe(422);
      expect(badCursor.body.errors[0].field).toBe('after');
      const tooBig = await http(t, 'GET', '/v1/users?page_size=51');
      expect(tooBig.status).toBe(422);
      expect(tooBig.body.code).toBe('invalid_params');
    });

    it('does not list objects or tenants', async () => {
      await t.knock.users.update('ada', {});
      await t.knock.objects.set('projects', 'p1', {});
      await t.knock.tenants.set('acme', {});
      const res = await http(t, 'GET', '/v1/users');
      expect(res.body.entries.map((u: { id: string }) => u.id)).toEqual(['ada']);
    });
  });

  describe('inline channel data and preferences on identify', () => {
    it('sets channel data given by channel key and keeps channels not mentioned', async () => {
      const feedId = await feedChannelId(t);
      await t.knock.users.update('ada', { channel_data: { 'in-app-feed': { tokens: ['t1'] } } });
      const cd = await t.knock.users.getChannelData('ada', feedId);
      expect(cd).toEqual({ __typename: 'ChannelData', channel_id: feedId, data: { tokens: ['t1'] } });
      await t.knock.users.update('ada', { name: 'Ada' });
      expect((await t.knock.users.getChannelData('ada', 'in-app-feed')).data).toEqual({ tokens: ['t1'] });
    });

    it('deep-merges inline preferences into the stored set', async () => {
      await t.knock.users.update('ada', { preferences: { default: { channel_types: { email: false }, workflows: { digest: false } } } });
      await t.knock.users.update('ada', { preferences: { default: { channel_types: { sms: false }, workflows: { digest: true } } } });
      const res = await http(t, 'GET', '/v1/users?include[]=preferences');
      expect(res.body.entries[0].preferences.default).toEqual({
        id: 'default',
        channel_types: { email: false, sms: false },
        workflows: { digest: true },
      });
    });

    it('rejects an unknown channel with 404 channel_invalid and writes nothing', async () => {
      const res = await http(t, 'PUT', '/v1/users/ada', { name: 'Ada', channel_data: { 'no-such-channel': { tokens: ['t'] } } });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: 'channel_invalid', status: 404, type: 'invalid_request_error' });
      expect((await http(t, 'GET', '/v1/users/ada')).status).toBe(404);
    });
  });

  describe('channel data', () => {
    it('sets by channel key and reads back by channel UUID, answering channel_id as the UUID', async () => {
      const feedId = await feedChannelId(t);
      await t.knock.users.update('ada', {});
      const set = await t.knock.users.setChannelData('ada', 'in-app-feed', { data: { tokens: ['push-1'] } });
      expect(set).toEqual({ __typename: 'ChannelData', channel_id: feedId, data: { tokens: ['push-1'] } });
      expect(await t.knock.users.getChannelData('ada', feedId)).toEqual(set);
    });

    it('replaces the previous data for that channel', async () => {
      await t.knock.users.setChannelData('ada', 'in-app-feed', { data: { tokens: ['old'] } });
      await t.knock.users.setChannelData('ada', 'in-app-feed', { data: { tokens: ['new'] } });
      expect((await t.knock.users.getChannelData('ada', 'in-app-feed')).data).toEqual({ tokens: ['new'] });
    });

    it('creates the user when it does not exist yet', async () => {
      await t.knock.users.setChannelData('newcomer', 'in-app-feed', { data: { tokens: ['t'] } });
      expect(await t.knock.users.get('newcomer')).toMatchObject({ id: 'newcomer', name: null });
    });

    it('unsets with 204 and no body; reading it afterwards is a 404', async () => {
      const feedId = await feedChannelId(t);
      await t.knock.users.setChannelData('ada', feedId, { data: { tokens: ['t'] } });
      const res = await http(t, 'DELETE', `/v1/users/ada/channel_data/${feedId}`);
      expect(res.status).toBe(204);
      expect(res.body).toBeUndefined();
      const get = await http(t, 'GET', '/v1/users/ada/channel_data/in-app-feed');
      expect(get.status).toBe(404);
      expect(get.body.code).toBe('resource_missing');
      await expect(t.knock.users.unsetChannelData('ada', 'in-app-feed')).resolves.toBeNull();
    });

    it('answers 404 channel_invalid for an unknown channel key or UUID', async () => {
      const byKey = await http(t, 'PUT', '/v1/users/ada/channel_data/nope', { data: { tokens: [] } });
      expect(byKey.body).toMatchObject({ code: 'channel_invalid', status: 404 });
      const byId = await http(t, 'GET', '/v1/users/ada/channel_data/00000000-0000-4000-8000-000000000000');
      expect(byId.body).toMatchObject({ code: 'channel_invalid', status: 404 });
    });

    it('requires a data object in the body', async () => {
      const res = await http(t, 'PUT', '/v1/users/ada/channel_data/in-app-feed', { tokens: ['t'] });
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'data', type: 'required' })]);
    });
  });

  describe('public key access', () => {
    const asPublic = () => ({ authorization: `Bearer ${t.publicKey}` });

    it('lets a public key identify and read a user and manage its channel data', async () => {
      expect((await http(t, 'PUT', '/v1/users/ada', { name: 'Ada' }, asPublic())).status).toBe(200);
      expect((await http(t, 'GET', '/v1/users/ada', undefined, asPublic())).body.name).toBe('Ada');
      expect((await http(t, 'PUT', '/v1/users/ada/channel_data/in-app-feed', { data: { tokens: ['t'] } }, asPublic())).status).toBe(200);
      expect((await http(t, 'DELETE', '/v1/users/ada/channel_data/in-app-feed', undefined, asPublic())).status).toBe(204);
    });

    it('refuses a public key on list and delete', async () => {
      const list = await http(t, 'GET', '/v1/users', undefined, asPublic());
      expect(list.status).toBe(403);
      expect(list.body.code).toBe('incorrect_token_type');
      expect((await http(t, 'DELETE', '/v1/users/ada', undefined, asPublic())).status).toBe(403);
    });
  });
});
