import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Knock from '@knocklabs/node';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { responseContract } from '../support/openapi.js';

const users = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ id: `user-${from + i}`, name: `User ${from + i}` }));

describe.each(engines)('bulk operations (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine); });
  afterEach(async () => { await t.close(); });

  describe('lifecycle', () => {
    it('answers a queued BulkOperation at once and applies it in the background, chunk by chunk', async () => {
      const op = await t.knock.users.bulk.identify({ users: users(250) });
      expect(op).toEqual({
        __typename: 'BulkOperation', id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'users.bulk_identify', status: 'queued',
        estimated_total_rows: 250, processed_rows: 0, success_count: 0, error_count: 0, error_items: [],
        progress_path: `${t.url}/v1/bulk_operations/${op.id}`,
        inserted_at: '2026-03-01T12:00:00.000Z', updated_at: '2026-03-01T12:00:00.000Z',
        started_at: null, completed_at: null, failed_at: null,
      });
      expect(responseContract('POST', '/v1/users/bulk/identify', 200).validate(op)).toEqual([]);
      // Nothing is written before the background task runs.
      expect((await t.knock.users.list()).entries).toHaveLength(0);
      expect(await t.knock.bulkOperations.get(op.id)).toEqual(op);

      t.clock.advance(1000);
      await t.herald.background.tick();
      const processing = await t.knock.bulkOperations.get(op.id);
      expect(processing).toMatchObject({
        status: 'processing', processed_rows: 100, success_count: 100,
        started_at: '2026-03-01T12:00:01.000Z', updated_at: '2026-03-01T12:00:01.000Z', completed_at: null,
      });
      expect(responseContract('GET', '/v1/bulk_operations/{id}', 200).validate(processing)).toEqual([]);

      t.clock.advance(1000);
      await t.drain();
      const done = await t.knock.bulkOperations.get(op.id);
      expect(done).toMatchObject({
        status: 'completed', processed_rows: 250, success_count: 250, error_count: 0, error_items: [],
        started_at: '2026-03-01T12:00:01.000Z', completed_at: '2026-03-01T12:00:02.000Z', failed_at: null,
      });
      expect(await t.knock.users.get('user-249')).toMatchObject({ id: 'user-249', name: 'User 249' });
    });

    it('follows progress_path to the same operation', async () => {
      const op = await t.knock.users.bulk.delete({ user_ids: ['ada'] });
      await t.drain();
      const followed = await http(t, 'GET', new URL(op.progress_path!).pathname);
      expect(followed.status).toBe(200);
      expect(followed.body).toMatchObject({ id: op.id, status: 'completed', success_count: 1 });
    });

    it('completes an operation with no items', async () => {
      const op = await t.knock.users.bulk.delete({ user_ids: [] });
      expect(op.estimated_total_rows).toBe(0);
      await t.drain();
      expect(await t.knock.bulkOperations.get(op.id)).toMatchObject({ status: 'completed', processed_rows: 0, success_count: 0 });
    });
  });

  describe('per-item errors', () => {
    it('records the items it could not apply and applies the others', async () => {
      const op = await t.knock.users.bulk.identify({
        users: [{ id: 'ada', name: 'Ada' }, { id: 'bad', channel_data: { 'no-such-channel': { tokens: ['x'] } } }, { id: 'bob' }],
      });
      await t.drain();
      const done = await t.knock.bulkOperations.get(op.id);
      expect(done).toMatchObject({
        status: 'completed', processed_rows: 3, success_count: 2, error_count: 1,
        error_items: [{ id: 'bad', message: 'No channel with id or key "no-such-channel" exists.' }],
      });
      expect((await t.knock.users.list()).entries.map((u) => u.id)).toEqual(['ada', 'bob']);
    });

    it('ends failed, with failed_at, when no item could be applied', async () => {
      const op = await t.knock.objects.bulk.set('projects', {
        objects: [{ id: 'p1', channel_data: { nope: { tokens: [] } } }, { id: 'p2', channel_data: { nope: { tokens: [] } } }],
      });
      await t.drain();
      const failed = await t.knock.bulkOperations.get(op.id);
      expect(failed).toMatchObject({
        status: 'failed', processed_rows: 2, success_count: 0, error_count: 2, completed_at: null, failed_at: '2026-03-01T12:00:00.000Z',
        error_items: [{ id: 'p1', collection: 'projects' }, { id: 'p2', collection: 'projects' }],
      });
    });
  });

  describe('validation (422 before anything is queued)', () => {
    it('refuses more than 1,000 items', async () => {
      const res = await http(t, 'POST', '/v1/users/bulk/identify', { users: users(1001) });
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'invalid_params', status: 422, type: 'invalid_request_error' });
      expect(res.body.errors[0]).toMatchObject({ field: expect.stringContaining('users') });
      await expect(t.knock.users.bulk.delete({ user_ids: Array.from({ length: 1001 }, (_, i) => `u${i}`) }))
        .rejects.toBeInstanceOf(Knock.UnprocessableEntityError);
    });

    it('refuses a malformed item and a reserved collection', async () => {
      const noId = await http(t, 'POST', '/v1/users/bulk/identify', { users: [{ name: 'nobody' }] });
      expect(noId.status).toBe(422);
      const reserved = await http(t, 'POST', '/v1/objects/$users/bulk/set', { objects: [{ id: 'x' }] });
      expect(reserved.status).toBe(422);
      const [{ n }] = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM bulk_operations');
      expect(n).toBe(0);
    });
  });

  describe('users', () => {
    it('users.bulk.identify merges like an identify: channel data, preferences, custom properties', async () => {
      await t.knock.users.update('ada', { name: 'Ada', email: 'ada@example.com' });
      await t.knock.users.bulk.identify({
        users: [{ id: 'ada', plan: 'pro', channel_data: { 'in-app-feed': { tokens: ['t1'] } }, preferences: { default: { workflows: { digest: false } } } } as any],
      });
      await t.drain();
      expect(await t.knock.users.get('ada')).toMatchObject({ name: 'Ada', email: 'ada@example.com', plan: 'pro' });
      expect((await t.knock.users.getChannelData('ada', 'in-app-feed')).data).toEqual({ tokens: ['t1'] });
      expect((await t.knock.users.getPreferences('ada', 'default')).workflows).toEqual({ digest: false });
    });

    it('users.bulk.delete deletes the users; an unknown id is not an error', async () => {
      await t.knock.users.update('ada', { name: 'Ada' });
      await t.knock.users.update('bob', { name: 'Bob' });
      const op = await t.knock.users.bulk.delete({ user_ids: ['ada', 'ghost'] });
      await t.drain();
      expect(await t.knock.bulkOperations.get(op.id)).toMatchObject({ status: 'completed', success_count: 2, error_count: 0 });
      await expect(t.knock.users.get('ada')).rejects.toBeInstanceOf(Knock.NotFoundError);
      expect(await t.knock.users.get('bob')).toMatchObject({ name: 'Bob' });
    });

    it('users.bulk.setPreferences overwrites the default set, or the set named by preferences.id', async () => {
      await t.knock.users.setPreferences('ada', 'default', { workflows: { digest: false }, channel_types: { email: true } });
      const op = await t.knock.users.bulk.setPreferences({ user_ids: ['ada', 'bob'], preferences: { channel_types: { email: false } } });
      expect(op.name).toBe('users.bulk_set_preferences');
      await t.drain();
      for (const id of ['ada', 'bob']) {
        const set = await t.knock.users.getPreferences(id, 'default');
        expect(set.channel_types).toEqual({ email: false });
        expect(set.workflows).toBeNull();
      }
      await t.knock.users.bulk.setPreferences({ user_ids: ['ada'], preferences: { id: 'acme', categories: { marketing: false } } });
      await t.drain();
      expect((await t.knock.users.getPreferences('ada', 'acme')).categories).toEqual({ marketing: false });
      expect((await t.knock.users.getPreferences('ada', 'default')).channel_types).toEqual({ email: false });
    });
  });

  describe('objects', () => {
    it('objects.bulk.set upserts objects of the collection; objects.bulk.delete removes them', async () => {
      await t.knock.objects.set('projects', 'p1', { name: 'One', owner: 'ada' });
      const set = await t.knock.objects.bulk.set('projects', { objects: [{ id: 'p1', name: 'Uno' }, { id: 'p2', name: 'Two', stars: 3 }] });
      expect(set).toMatchObject({ name: 'objects.bulk_set', status: 'queued', estimated_total_rows: 2 });
      await t.drain();
      expect((await t.knock.objects.get('projects', 'p1')).properties).toEqual({ name: 'Uno', owner: 'ada' });
      expect((await t.knock.objects.get('projects', 'p2')).properties).toEqual({ name: 'Two', stars: 3 });

      const del = await t.knock.objects.bulk.delete('projects', { object_ids: ['p1', 'p3'] });
      await t.drain();
      expect(await t.knock.bulkOperations.get(del.id)).toMatchObject({ name: 'objects.bulk_delete', status: 'completed', success_count: 2 });
      await expect(t.knock.objects.get('projects', 'p1')).rejects.toBeInstanceOf(Knock.NotFoundError);
      expect((await t.knock.objects.list('projects')).entries.map((o) => o.id)).toEqual(['p2']);
    });

    it('objects.bulk.addSubscriptions subscribes recipients (identifying inline ones) to each object, upserting properties', async () => {
      await t.knock.objects.addSubscriptions('projects', 'p1', { recipients: ['ada'], properties: { role: 'viewer' } });
      const op = await t.knock.objects.bulk.addSubscriptions('projects', {
        subscriptions: [
          { id: 'p1', recipients: ['ada', { id: 'bob', name: 'Bob' }], properties: { role: 'owner' } },
          { id: 'p2', recipients: [{ id: 'team-1', collection: 'teams' }] },
        ],
      });
      expect(op.name).toBe('objects.bulk_add_subscriptions');
      await t.drain();
      expect(await t.knock.bulkOperations.get(op.id)).toMatchObject({ status: 'completed', success_count: 2 });
      const p1 = await t.knock.objects.listSubscriptions('projects', 'p1');
      expect(p1.entries.map((s) => [(s.recipient as any).id, s.properties]).sort()).toEqual([['ada', { role: 'owner' }], ['bob', { role: 'owner' }]]);
      expect(await t.knock.users.get('bob')).toMatchObject({ name: 'Bob' });
      const p2 = await t.knock.objects.listSubscriptions('projects', 'p2');
      expect(p2.entries.map((s) => s.recipient)).toEqual([expect.objectContaining({ id: 'team-1', collection: 'teams' })]);
    });

    it('a failing subscription item leaves nothing behind, not even the users it identified first', async () => {
      const op = await t.knock.objects.bulk.addSubscriptions('projects', {
        subscriptions: [
          { id: 'p1', recipients: [{ id: 'newbie', name: 'Newbie' }, { id: 'p1', collection: 'projects' }] },
          { id: 'p2', recipients: ['ada'] },
        ],
      });
      await t.drain();
      expect(await t.knock.bulkOperations.get(op.id)).toMatchObject({
        status: 'completed', success_count: 1, error_count: 1,
        error_items: [{ id: 'p1', collection: 'projects', message: 'An object cannot subscribe to itself.' }],
      });
      await expect(t.knock.users.get('newbie')).rejects.toBeInstanceOf(Knock.NotFoundError);
      expect((await t.knock.objects.listSubscriptions('projects', 'p2')).entries).toHaveLength(1);
    });

    it('objects.bulk.deleteSubscriptions unsubscribes the given recipients from each object', async () => {
      await t.knock.objects.addSubscriptions('projects', 'p1', { recipients: ['ada', 'bob'] });
      await t.knock.objects.addSubscriptions('projects', 'p2', { recipients: ['ada'] });
      const op = await t.knock.objects.bulk.deleteSubscriptions('projects', {
        subscriptions: [{ id: 'p1', recipients: ['ada'] }, { id: 'p2', recipients: ['ada', 'zed'] }],
      });
      expect(op.name).toBe('objects.bulk_delete_subscriptions');
      await t.drain();
      expect((await t.knock.objects.listSubscriptions('projects', 'p1')).entries.map((s) => (s.recipient as any).id)).toEqual(['bob']);
      expect((await t.knock.objects.listSubscriptions('projects', 'p2')).entries).toEqual([]);
    });
  });

  describe('tenants', () => {
    it('tenants.bulk.set takes tenant ids and TenantRequests; tenants.bulk.delete takes ids in the query', async () => {
      const op = await t.knock.tenants.bulk.set({
        tenants: ['acme', { id: 'initech', name: 'Initech', settings: { branding: { primary_color: '#000000' } } }],
      });
      expect(op.name).toBe('tenants.bulk_set');
      await t.drain();
      expect(await t.knock.tenants.get('acme')).toMatchObject({ id: 'acme', name: null });
      expect(await t.knock.tenants.get('initech')).toMatchObject({ name: 'Initech', settings: { branding: { primary_color: '#000000' } } });

      const del = await t.knock.tenants.bulk.delete({ tenant_ids: ['acme', 'initech'] });
      expect(del).toMatchObject({ name: 'tenants.bulk_delete', estimated_total_rows: 2 });
      await t.drain();
      expect((await t.knock.tenants.list()).entries).toEqual([]);
    });
  });
});
