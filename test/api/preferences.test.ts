import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';

const UNSET = { workflows: null, categories: null, channel_types: null, channels: null };

describe.each(engines)('preferences API (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine); });
  afterEach(async () => { await t.close(); });

  describe('users', () => {
    it('answers an unset set with null fields instead of 404, and lists nothing', async () => {
      expect(await t.knock.users.getPreferences('ada', 'default')).toEqual({ id: 'default', ...UNSET });
      expect(await t.knock.users.listPreferences('ada')).toEqual([]);
    });

    it('sets a set (creating the user), gets it back and lists it as a plain array', async () => {
      const set = await t.knock.users.setPreferences('ada', 'default', {
        workflows: { welcome: false },
        channel_types: { email: true, sms: { conditions: [{ variable: 'recipient.country', operator: 'equal_to', argument: 'US' }] } },
        commercial_subscribed: false,
      });
      expect(set).toEqual({
        id: 'default',
        workflows: { welcome: false },
        categories: null,
        channels: null,
        channel_types: { email: true, sms: { conditions: [{ variable: 'recipient.country', operator: 'equal_to', argument: 'US' }] } },
        commercial_subscribed: false,
      });
      expect(await t.knock.users.getPreferences('ada', 'default')).toEqual(set);
      expect(await t.knock.users.listPreferences('ada')).toEqual([set]);
      expect(await t.knock.users.get('ada')).toMatchObject({ id: 'ada' });
    });

    it('replaces the set by default and deep-merges with __persistence_strategy__ "merge"', async () => {
      await t.knock.users.setPreferences('ada', 'default', { workflows: { welcome: false, digest: true }, categories: { marketing: false } });
      const replaced = await t.knock.users.setPreferences('ada', 'default', { workflows: { welcome: true } });
      expect(replaced).toEqual({ id: 'default', ...UNSET, workflows: { welcome: true } });

      const merged = await t.knock.users.setPreferences('ada', 'default', {
        __persistence_strategy__: 'merge',
        workflows: { digest: { channel_types: { email: false } } },
        categories: { marketing: false },
      });
      expect(merged).toEqual({
        id: 'default', ...UNSET,
        workflows: { welcome: true, digest: { channel_types: { email: false } } },
        categories: { marketing: false },
      });
      expect(merged).not.toHaveProperty('__persistence_strategy__');
    });

    it('keeps tenant-specific sets apart from the default set', async () => {
      await t.knock.users.setPreferences('ada', 'default', { workflows: { welcome: true } });
      await t.knock.users.setPreferences('ada', 'acme', { workflows: { welcome: false } });
      expect(await t.knock.users.getPreferences('ada', 'acme')).toEqual({ id: 'acme', ...UNSET, workflows: { welcome: false } });
      expect(await t.knock.users.getPreferences('ada', 'default')).toEqual({ id: 'default', ...UNSET, workflows: { welcome: true } });
      expect((await t.knock.users.listPreferences('ada')).map((s) => s.id)).toEqual(['acme', 'default']);
    });

    it('with ?tenant= answers the user\'s tenant set merged over the tenant\'s default set', async () => {
      await t.knock.tenants.set('acme', { settings: { preference_set: { workflows: { welcome: false, digest: false } } } });
      await t.knock.users.setPreferences('ada', 'acme', { workflows: { digest: true } });
      const set = await t.knock.users.getPreferences('ada', 'default', { tenant: 'acme' });
      expect(set).toMatchObject({ id: 'acme', workflows: { welcome: false, digest: true } });
      // Without tenant-specific preferences anywhere, the plain set answers.
      await t.knock.users.setPreferences('ada', 'default', { workflows: { welcome: true } });
      expect(await t.knock.users.getPreferences('ada', 'default', { tenant: 'other' })).toEqual({ id: 'default', ...UNSET, workflows: { welcome: true } });
    });

    it('shows inline preferences from identify (deep-merged) through getPreferences', async () => {
      await t.knock.users.update('ada', { preferences: { default: { workflows: { welcome: false } } } });
      await t.knock.users.update('ada', { preferences: { default: { channel_types: { email: false } } } });
      expect(await t.knock.users.getPreferences('ada', 'default')).toEqual({
        id: 'default', ...UNSET, workflows: { welcome: false }, channel_types: { email: false },
      });
    });

    it('unsets a set with 204 (idempotently) and keeps the user', async () => {
      await t.knock.users.setPreferences('ada', 'default', { workflows: { welcome: false } });
      await t.knock.users.unsetPreferences('ada', 'default');
      expect(await t.knock.users.getPreferences('ada', 'default')).toEqual({ id: 'default', ...UNSET });
      const res = await http(t, 'DELETE', '/v1/users/ada/preferences/default');
      expect(res.status).toBe(204);
      expect(res.body).toBeUndefined();
      expect(await t.knock.users.get('ada')).toMatchObject({ id: 'ada' });
    });

    it('drops the sets with the user', async () => {
      await t.knock.users.setPreferences('ada', 'default', { workflows: { welcome: false } });
      await t.knock.users.delete('ada');
      expect(await t.knock.users.listPreferences('ada')).toEqual([]);
    });

    it('rejects an unknown __persistence_strategy__ with 422', async () => {
      const res = await http(t, 'PUT', '/v1/users/ada/preferences/default', { __persistence_strategy__: 'append', workflows: {} });
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'invalid_params' });
    });

    it('lets a public key read and write the set, as the browser client does', async () => {
      const headers = { authorization: `Bearer ${t.publicKey}` };
      const put = await http(t, 'PUT', '/v1/users/ada/preferences/default', { workflows: { welcome: false } }, headers);
      expect(put.status).toBe(200);
      expect((await http(t, 'GET', '/v1/users/ada/preferences/default', undefined, headers)).body).toEqual(put.body);
      expect((await http(t, 'GET', '/v1/users/ada/preferences', undefined, headers)).body).toEqual([put.body]);
      expect((await http(t, 'DELETE', '/v1/users/ada/preferences/default', undefined, headers)).status).toBe(403);
    });
  });

  describe('environment default set (Herald extension)', () => {
    const path = '/v1/environment/preferences/default';

    it('answers null fields while unset, replaces on PUT, deep-merges with "merge", and unsets with 204', async () => {
      expect((await http(t, 'GET', path)).body).toEqual({ id: 'default', ...UNSET });

      await http(t, 'PUT', path, { workflows: { digest: false }, categories: { marketing: false } });
      const replaced = await http(t, 'PUT', path, { channel_types: { sms: false } });
      expect(replaced.status).toBe(200);
      expect(replaced.body).toEqual({ id: 'default', ...UNSET, channel_types: { sms: false } });

      const merged = await http(t, 'PUT', path, { __persistence_strategy__: 'merge', channel_types: { email: false }, commercial_subscribed: false });
      expect(merged.body).toEqual({ id: 'default', ...UNSET, channel_types: { sms: false, email: false }, commercial_subscribed: false });
      expect((await http(t, 'GET', path)).body).toEqual(merged.body);

      expect((await http(t, 'DELETE', path)).status).toBe(204);
      expect((await http(t, 'GET', path)).body).toEqual({ id: 'default', ...UNSET });
    });

    it('validates the body like a user\'s set (422 with the field)', async () => {
      for (const body of [{ __persistence_strategy__: 'append' }, { workflows: { digest: 'no' } }, { channel_types: [] }]) {
        const env = await http(t, 'PUT', path, body);
        const user = await http(t, 'PUT', '/v1/users/ada/preferences/default', body);
        expect([env.status, user.status], JSON.stringify(body)).toEqual([422, 422]);
        expect(env.body).toMatchObject({ code: 'invalid_params' });
      }
    });

    it('is not a user\'s set: users still answer their own sets only', async () => {
      await http(t, 'PUT', path, { workflows: { digest: false } });
      expect(await t.knock.users.getPreferences('ada', 'default')).toEqual({ id: 'default', ...UNSET });
    });
  });

  describe('deprecated sub-paths', () => {
    for (const base of ['/v1/users/ada', '/v1/objects/projects/p1']) {
      it(`merges each field into the set and answers with the PreferenceSet (${base})`, async () => {
        await http(t, 'PUT', `${base}/preferences/default`, { workflows: { welcome: false }, commercial_subscribed: true });

        let res = await http(t, 'PUT', `${base}/preferences/default/channel_types`, { email: false, push: true });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ id: 'default', ...UNSET, workflows: { welcome: false }, commercial_subscribed: true, channel_types: { email: false, push: true } });

        res = await http(t, 'PUT', `${base}/preferences/default/channel_types/sms`, { subscribed: false });
        expect(res.body.channel_types).toEqual({ email: false, push: true, sms: false });

        res = await http(t, 'PUT', `${base}/preferences/default/workflows`, { digest: true });
        expect(res.body.workflows).toEqual({ welcome: false, digest: true });

        res = await http(t, 'PUT', `${base}/preferences/default/workflows/welcome`, { subscribed: true });
        expect(res.body.workflows).toEqual({ welcome: true, digest: true });

        res = await http(t, 'PUT', `${base}/preferences/default/workflows/digest`, { channel_types: { email: false } });
        expect(res.body.workflows).toEqual({ welcome: true, digest: { channel_types: { email: false } } });

        res = await http(t, 'PUT', `${base}/preferences/default/categories`, { marketing: false });
        expect(res.body.categories).toEqual({ marketing: false });

        res = await http(t, 'PUT', `${base}/preferences/acme/categories/marketing`, { subscribed: true });
        expect(res.body).toEqual({ id: 'acme', ...UNSET, categories: { marketing: true } });

        expect((await http(t, 'GET', `${base}/preferences/default`)).body).toMatchObject({
          commercial_subscribed: true,
          categories: { marketing: false },
          channel_types: { email: false, push: true, sms: false },
        });
      });
    }
  });

  describe('objects', () => {
    it('sets (creating the object), gets, lists and unsets object preference sets', async () => {
      expect(await t.knock.objects.getPreferences('projects', 'p1', 'default')).toEqual({ id: 'default', ...UNSET });
      const set = await t.knock.objects.setPreferences('projects', 'p1', 'default', { categories: { marketing: false } });
      expect(set).toEqual({ id: 'default', ...UNSET, categories: { marketing: false } });
      expect(await t.knock.objects.get('projects', 'p1')).toMatchObject({ id: 'p1', collection: 'projects' });
      expect(await t.knock.objects.getPreferences('projects', 'p1', 'default')).toEqual(set);
      expect(await t.knock.objects.listPreferences('projects', 'p1')).toEqual([set]);

      const merged = await t.knock.objects.setPreferences('projects', 'p1', 'default', { __persistence_strategy__: 'merge', workflows: { welcome: false } });
      expect(merged).toEqual({ id: 'default', ...UNSET, categories: { marketing: false }, workflows: { welcome: false } });
      const replaced = await t.knock.objects.setPreferences('projects', 'p1', 'default', { workflows: { welcome: true } });
      expect(replaced).toEqual({ id: 'default', ...UNSET, workflows: { welcome: true } });

      await t.knock.objects.unsetPreferences('projects', 'p1', 'default');
      expect(await t.knock.objects.listPreferences('projects', 'p1')).toEqual([]);
      expect((await http(t, 'DELETE', '/v1/objects/projects/p1/preferences/default')).status).toBe(204);
    });

    it('shows inline preferences from objects.set', async () => {
      await t.knock.objects.set('projects', 'p1', { preferences: { default: { workflows: { welcome: false } } } });
      expect(await t.knock.objects.getPreferences('projects', 'p1', 'default')).toEqual({ id: 'default', ...UNSET, workflows: { welcome: false } });
    });

    it('rejects reserved $-collections with 422', async () => {
      for (const [method, path] of [
        ['GET', '/v1/objects/$users/ada/preferences'],
        ['GET', '/v1/objects/$users/ada/preferences/default'],
        ['PUT', '/v1/objects/$tenants/acme/preferences/default'],
        ['PUT', '/v1/objects/$users/ada/preferences/default/workflows'],
        ['DELETE', '/v1/objects/$users/ada/preferences/default'],
      ] as const) {
        const res = await http(t, method, path, method === 'PUT' ? { workflows: {} } : undefined);
        expect(res.status, `${method} ${path}`).toBe(422);
        expect(res.body.errors).toEqual([expect.objectContaining({ field: 'collection' })]);
      }
    });

    it('refuses object preferences to a public key', async () => {
      const res = await http(t, 'GET', '/v1/objects/projects/p1/preferences/default', undefined, { authorization: `Bearer ${t.publicKey}` });
      expect(res.status).toBe(403);
    });
  });
});
