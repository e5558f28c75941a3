import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Knock from '@knocklabs/node';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';

const branding = { primary_color: '#DF1A22', logo_url: 'https://example.com/logo.png' };

describe.each(engines)('tenants API (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine); });
  afterEach(async () => { await t.close(); });

  describe('set and get', () => {
    it('answers Knock\'s Tenant shape: name and settings null when unset, custom properties at the top level', async () => {
      const bare = await t.knock.tenants.set('acme', { region: 'eu' });
      expect(bare).toEqual({ __typename: 'Tenant', id: 'acme', name: null, settings: null, region: 'eu' });

      const tenant = await t.knock.tenants.set('acme', { name: 'Acme', settings: { branding } });
      expect(tenant).toEqual({ __typename: 'Tenant', id: 'acme', name: 'Acme', region: 'eu', settings: { branding } });
      expect(await t.knock.tenants.get('acme')).toEqual(tenant);
    });

    it('deep-merges settings: a later branding change keeps the other branding fields and the preference set', async () => {
      await t.knock.tenants.set('acme', {
        name: 'Acme',
        settings: { branding, preference_set: { channel_types: { email: true }, workflows: { digest: false } } },
      });
      const tenant = await t.knock.tenants.set('acme', {
        settings: { branding: { primary_color: '#000000' }, preference_set: { channel_types: { sms: false } } },
      });
      expect(tenant.name).toBe('Acme');
      expect(tenant.settings).toEqual({
        branding: { primary_color: '#000000', logo_url: 'https://example.com/logo.png' },
        preference_set: { id: 'default', channel_types: { email: true, sms: false }, workflows: { digest: false } },
      });
    });

    it('accepts resolve_full_preference_settings on get and set', async () => {
      await t.knock.tenants.set('acme', { name: 'Acme', resolve_full_preference_settings: true });
      const res = await http(t, 'GET', '/v1/tenants/acme?resolve_full_preference_settings=true');
      expect(res.status).toBe(200);
      expect(res.body.name).toBe('Acme');
      expect(res.body).not.toHaveProperty('resolve_full_preference_settings');
    });

    it('with resolve_full_preference_settings, merges the environment default set under settings.preference_set', async () => {
      await http(t, 'PUT', '/v1/environment/preferences/default', { workflows: { digest: false, welcome: false }, channel_types: { sms: false } });
      await t.knock.tenants.set('acme', { settings: { branding, preference_set: { workflows: { welcome: true } } } });
      await t.knock.tenants.set('bare', { name: 'Bare' });

      const full = { id: 'default', workflows: { digest: false, welcome: true }, channel_types: { sms: false } };
      expect(await t.knock.tenants.get('acme', { resolve_full_preference_settings: true })).toMatchObject({ settings: { branding, preference_set: full } });
      expect(await t.knock.tenants.set('acme', { name: 'Acme', resolve_full_preference_settings: true })).toMatchObject({ name: 'Acme', settings: { preference_set: full } });
      expect((await t.knock.tenants.get('bare', { resolve_full_preference_settings: true })).settings).toEqual({
        preference_set: { id: 'default', workflows: { digest: false, welcome: false }, channel_types: { sms: false } },
      });
      // Without the flag the tenant's own set answers, and nothing was stored by resolving.
      expect((await t.knock.tenants.get('acme')).settings?.preference_set).toEqual({ id: 'default', workflows: { welcome: true } });
      expect((await t.knock.tenants.get('bare')).settings).toBeNull();
    });

    it('answers 404 resource_missing for an unknown tenant', async () => {
      const res = await http(t, 'GET', '/v1/tenants/nope');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ code: 'resource_missing', message: 'Tenant "nope" was not found.', status: 404, type: 'invalid_request_error' });
      await expect(t.knock.tenants.get('nope')).rejects.toBeInstanceOf(Knock.NotFoundError);
    });
  });

  describe('delete', () => {
    it('answers 204 with no body and the tenant is gone', async () => {
      await t.knock.tenants.set('acme', { name: 'Acme' });
      const res = await http(t, 'DELETE', '/v1/tenants/acme');
      expect(res.status).toBe(204);
      expect(res.body).toBeUndefined();
      await expect(t.knock.tenants.get('acme')).rejects.toBeInstanceOf(Knock.NotFoundError);
      await expect(t.knock.tenants.delete('acme')).resolves.toBeNull();
    });
  });

  describe('list', () => {
    beforeEach(async () => {
      for (const [id, name] of [['t1', 'Acme'], ['t2', 'Globex'], ['t3', 'Acme'], ['t4', 'Initech']]) {
        await t.knock.tenants.set(id, { name });
        t.clock.advance(1000);
      }
    });

    it('pages through every tenant oldest first with the SDK\'s async iterator', async () => {
      const ids: string[] = [];
      for await (const tenant of t.knock.tenants.list({ page_size: 3 })) ids.push(tenant.id);
      expect(ids).toEqual(['t1', 't2', 't3', 't4']);
    });

    it('filters by exact name', async () => {
      const ids: string[] = [];
      for await (const tenant of t.knock.tenants.list({ name: 'Acme', page_size: 1 })) ids.push(tenant.id);
      expect(ids).toEqual(['t1', 't3']);
    });

    it('filters by tenant_id in the query string', async () => {
      const res = await http(t, 'GET', '/v1/tenants?tenant_id=t2');
      expect(res.body.entries).toEqual([{ __typename: 'Tenant', id: 't2', name: 'Globex', settings: null }]);
      expect(res.body.page_info).toEqual({ __typename: 'PageInfo', after: null, before: null, page_size: 50 });
    });
  });

  it('is stored as an object in the $tenants collection, usable as a trigger tenant', async () => {
    await t.knock.tenants.set('acme', { name: 'Acme' });
    const rows = await t.db.query<{ collection: string; properties: unknown }>("SELECT collection, properties FROM entities WHERE id = 'acme'");
    expect(rows).toEqual([{ collection: '$tenants', properties: { name: 'Acme' } }]);
  });
});
