import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Knock from '@knocklabs/node';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';

describe.each(engines)('objects API (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine); });
  afterEach(async () => { await t.close(); });

  describe('set and get', () => {
    it('answers Knock\'s Object shape, with every property nested under `properties`', async () => {
      const object = await t.knock.objects.set('projects', 'apollo', { name: 'Apollo', budget: 42 });
      expect(object).toEqual({
        __typename: 'Object',
        id: 'apollo',
        collection: 'projects',
        properties: { name: 'Apollo', budget: 42 },
        created_at: null,
        updated_at: '2026-03-01T12:00:00.000Z',
      });
      expect(await t.knock.objects.get('projects', 'apollo')).toEqual(object);
    });

    it('merges a later set over the stored properties', async () => {
      await t.knock.objects.set('projects', 'apollo', { name: 'Apollo', budget: 42 });
      t.clock.advance(5000);
      const object = await t.knock.objects.set('projects', 'apollo', { budget: 50, owner: 'ada' });
      expect(object.properties).toEqual({ name: 'Apollo', budget: 50, owner: 'ada' });
      expect(object.updated_at).toBe('2026-03-01T12:00:05.000Z');
    });

    it('keeps the same id in different collections apart', async () => {
      await t.knock.objects.set('projects', 'x', { kind: 'project' });
      await t.knock.objects.set('teams', 'x', { kind: 'team' });
      expect((await t.knock.objects.get('projects', 'x')).properties).toEqual({ kind: 'project' });
      expect((await t.knock.objects.get('teams', 'x')).properties).toEqual({ kind: 'team' });
    });

    it('answers 404 resource_missing for an unknown object', async () => {
      const res = await http(t, 'GET', '/v1/objects/projects/nope');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ code: 'resource_missing', message: 'Object "nope" in collection "projects" was not found.', status: 404, type: 'invalid_request_error' });
      await expect(t.knock.objects.get('projects', 'nope')).rejects.toBeInstanceOf(Knock.NotFoundError);
    });
  });

  describe('reserved collections', () => {
    it('refuses collections starting with "$" with 422, so tenants and users go through their own routes', async () => {
      await expect(t.knock.objects.set('$tenants', 'acme', { name: 'Acme' })).rejects.toBeInstanceOf(Knock.UnprocessableEntityError);
      const res = await http(t, 'GET', '/v1/objects/%24users');
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'invalid_params', status: 422, type: 'invalid_request_error' });
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'collection' })]);
      expect((await http(t, 'GET', '/v1/tenants/acme')).status).toBe(404);
    });
  });

  describe('delete', () => {
    it('answers 204 with no body and the object is gone', async () => {
      await t.knock.objects.set('projects', 'apollo', {});
      const res = await http(t, 'DELETE', '/v1/objects/projects/apollo');
      expect(res.status).toBe(204);
      expect(res.body).toBeUndefined();
      await expect(t.knock.objects.get('projects', 'apollo')).rejects.toBeInstanceOf(Knock.NotFoundError);
      await expect(t.knock.objects.delete('projects', 'apollo')).resolves.toBeNull();
    });
  });

  describe('list', () => {
    it('pages through one collection oldest first with the SDK\'s async iterator', async () => {
      for (const id of ['a', 'b', 'c', 'd', 'e']) {
        await t.knock.objects.set('projects', id, { name: id });
        t.clock.advance(1000);
      }
      await t.knock.objects.set('teams', 'other', {});
      const ids: string[] = [];
      for await (const object of t.knock.objects.list('projects', { page_size: 2 })) ids.push(object.id);
      expect(ids).toEqual(['a', 'b', 'c', 'd', 'e']);
    });

    it('returns an empty page for a collection with no objects', async () => {
      const res = await http(t, 'GET', '/v1/objects/empty?page_size=10');
      expect(res.body).toEqual({ entries: [], page_info: { __typename: 'PageInfo', after: null, before: null, page_size: 10 } });
    });

    it('includes preference sets for include[]=preferences', async () => {
      await t.knock.objects.set('projects', 'apollo', { preferences: { default: { workflows: { digest: false } } } });
      const res = await http(t, 'GET', '/v1/objects/projects?include[]=preferences');
      expect(res.body.entries[0].preferences).toEqual({ default: { id: 'default', workflows: { digest: false } } });
    });
  });

  describe('channel data', () => {
    it('sets by key (creating the object), reads by UUID, and unsets with 204', async () => {
      const [{ id: feedId }] = await t.db.query<{ id: string }>("SELECT id FROM channels WHERE key = 'in-app-feed'");
      const set = await t.knock.objects.setChannelData('projects', 'apollo', 'in-app-feed', {
        data: { connections: [{ incoming_webhook: { url: 'https://hooks.example.com/1' } }] },
      });
      expect(set).toEqual({ __typename: 'ChannelData', channel_id: feedId, data: { connections: [{ incoming_webhook: { url: 'https://hooks.example.com/1' } }] } });
      expect(await t.knock.objects.get('projects', 'apollo')).toMatchObject({ id: 'apollo', properties: {} });
      expect(await t.knock.objects.getChannelData('projects', 'apollo', feedId)).toEqual(set);

      const res = await http(t, 'DELETE', `/v1/objects/projects/apollo/channel_data/${feedId}`);
      expect(res.status).toBe(204);
      expect(res.body).toBeUndefined();
      await expect(t.knock.objects.getChannelData('projects', 'apollo', 'in-app-feed')).rejects.toBeInstanceOf(Knock.NotFoundError);
    });

    it('sets inline channel data on set and rejects unknown channels', async () => {
      await t.knock.objects.set('projects', 'apollo', { channel_data: { 'in-app-feed': { tokens: ['t'] } } });
      expect((await t.knock.objects.getChannelData('projects', 'apollo', 'in-app-feed')).data).toEqual({ tokens: ['t'] });
      const bad = await http(t, 'PUT', '/v1/objects/projects/apollo/channel_data/nope', { data: {} });
      expect(bad.body).toMatchObject({ code: 'channel_invalid', status: 404 });
    });

    it('lets a public key manage object channel data but not set the object', async () => {
      const asPublic = { authorization: `Bearer ${t.publicKey}` };
      const put = await http(t, 'PUT', '/v1/objects/projects/apollo/channel_data/in-app-feed', { data: { tokens: ['t'] } }, asPublic);
      expect(put.status).toBe(200);
      const set = await http(t, 'PUT', '/v1/objects/projects/apollo', { name: 'x' }, asPublic);
      expect(set.status).toBe(403);
    });
  });
});
