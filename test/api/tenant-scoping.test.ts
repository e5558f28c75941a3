/**
 * Tenants as a scope (knock-api.md §2.4, §5.11, §5.15): messages produced by real triggers carry
 * their trigger's tenant and can be listed, paged in feeds and counted per tenant; preferences
 * can differ per tenant; an inline tenant on a trigger is upserted with its settings; and any
 * tenant id scopes without being registered first.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';

const feed = { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'News for {{ tenant.name | default: "you" }}' } };
const news = { key: 'news', name: 'News', steps: [feed] };

describe.each(engines)('tenant scoping (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows: [news] }); });
  afterEach(async () => { await t.close(); });

  /** Triggers `news` for ada once per tenant (null = no tenant) and runs it, a second apart: newest last. */
  const deliver = async (...tenants: (string | Record<string, unknown> | null)[]) => {
    for (const tenant of tenants) {
      await t.knock.workflows.trigger('news', { recipients: ['ada'], tenant: tenant as any });
      await t.drain();
      t.clock.advance(1000);
    }
  };
  const feedOf = async (query: string) => (await http(t, 'GET', `/v1/users/ada/feeds/in-app-feed?${query}`)).body;

  it('lists messages per tenant with the tenant filter, on users.listMessages and messages.list', async () => {
    await deliver('acme', 'globex', null, 'acme');
    const acme = await t.knock.users.listMessages('ada', { tenant: 'acme' });
    expect(acme.items.map((m) => m.tenant)).toEqual(['acme', 'acme']);
    const globex = await t.knock.messages.list({ tenant: 'globex' });
    expect(globex.items.map((m) => m.tenant)).toEqual(['globex']);
    expect((await t.knock.messages.list()).items).toHaveLength(4);
  });

  it('scopes feed entries and their meta counts by tenant and has_tenant', async () => {
    await deliver('acme', 'acme', 'globex', null);
    const [newestAcme] = (await t.knock.users.listMessages('ada', { tenant: 'acme' })).items;
    await t.knock.messages.markAsRead(newestAcme.id);

    const acme = await feedOf('tenant=acme');
    expect(acme.entries.map((e: { tenant: string }) => e.tenant)).toEqual(['acme', 'acme']);
    expect(acme.meta).toEqual({ __typename: 'FeedMetadata', total_count: 2, unread_count: 1, unseen_count: 2 });

    const globex = await feedOf('tenant=globex');
    expect(globex.meta).toMatchObject({ total_count: 1, unread_count: 1 });

    const tenanted = await feedOf('has_tenant=true');
    expect(tenanted.entries.map((e: { tenant: string }) => e.tenant)).toEqual(['globex', 'acme', 'acme']);
    expect(tenanted.meta).toMatchObject({ total_count: 3, unread_count: 2 });

    const untenanted = await feedOf('has_tenant=false');
    expect(untenanted.entries.map((e: { tenant: string | null }) => e.tenant)).toEqual([null]);
    expect(untenanted.meta).toMatchObject({ total_count: 1, unread_count: 1 });
  });

  it('applies the recipient\'s preferences per tenant: a set for one tenant leaves the others alone', async () => {
    await t.knock.users.setPreferences('ada', 'acme', { channel_types: { in_app_feed: false } });
    await deliver('acme', 'globex', null);
    const tenants = (await t.knock.users.listMessages('ada')).items.map((m) => m.tenant);
    expect(tenants).toEqual([null, 'globex']);
    expect(await t.knock.users.getPreferences('ada', 'default', { tenant: 'acme' })).toMatchObject({ id: 'acme', channel_types: { in_app_feed: false } });
  });

  it('upserts an inline tenant on trigger with its settings, and its preference_set decides that very trigger', async () => {
    await deliver({ id: 'initech', name: 'Initech', settings: { branding: { primary_color: '#123456' }, preference_set: { workflows: { news: false } } } });
    expect(await t.knock.tenants.get('initech')).toEqual({
      __typename: 'Tenant', id: 'initech', name: 'Initech',
      settings: { branding: { primary_color: '#123456' }, preference_set: { id: 'default', workflows: { news: false } } },
    });
    expect((await t.knock.users.listMessages('ada')).items).toHaveLength(0);

    // A later inline tenant deep-merges its settings: the branding changes, the preference set stays.
    await deliver({ id: 'initech', settings: { branding: { logo_url: 'https://example.com/i.png' } } });
    const tenant = await t.knock.tenants.get('initech');
    expect(tenant.settings).toEqual({
      branding: { primary_color: '#123456', logo_url: 'https://example.com/i.png' },
      preference_set: { id: 'default', workflows: { news: false } },
    });
    expect((await t.knock.users.listMessages('ada')).items).toHaveLength(0);

    await t.knock.users.setPreferences('ada', 'initech', { workflows: { news: true } });
    await deliver('initech');
    const [message] = (await t.knock.users.listMessages('ada')).items;
    expect(message.tenant).toBe('initech');
    const content = await t.knock.messages.getContent(message.id);
    expect(JSON.stringify(content.data)).toContain('News for Initech');
  });

  it('scopes by a tenant id that was never registered: messages, feed, counts and per-tenant preferences', async () => {
    await deliver('unregistered-co', null);
    expect((await t.knock.messages.list({ tenant: 'unregistered-co' })).items.map((m) => m.tenant)).toEqual(['unregistered-co']);
    const scoped = await feedOf('tenant=unregistered-co');
    expect(scoped.entries).toHaveLength(1);
    expect(scoped.meta).toMatchObject({ total_count: 1, unread_count: 1, unseen_count: 1 });

    await t.knock.users.setPreferences('ada', 'unregistered-co', { workflows: { news: false } });
    await deliver('unregistered-co');
    expect((await t.knock.messages.list({ tenant: 'unregistered-co' })).items).toHaveLength(1);
  });
});
