import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { TEST_VERSION_ID, channelId, createChannel, createMessage, createMessages } from '../support/messages.js';

const ids = (items: { id: string }[]) => items.map((m) => m.id);

describe.each(engines)('in-app feeds (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine); });
  afterEach(async () => { await t.close(); });

  /** The whole feed response, as the browser client reads it. */
  const feed = async (query = '', user = 'ada', channel = 'in-app-feed') => {
    const res = await http(t, 'GET', `/v1/users/${user}/feeds/${channel}${query ? `?${query}` : ''}`);
    expect(res.status).toBe(200);
    return res.body;
  };

  describe('entries', () => {
    it('returns FeedItems newest first with full actors, blocks and source', async () => {
      await t.knock.users.update('grace', { name: 'Grace', email: 'grace@example.com' });
      const [older, newer] = await createMessages(t, [
        { recipient: 'ada', workflow: 'welcome', body: 'Welcome!' },
        {
          recipient: 'ada', workflow: 'comment-created', categories: ['comments'], tenant: 'acme',
          actors: ['grace', 'ghost'], data: { comment: 'Nice', thread: { id: 't1' } }, body: 'Grace commented', actionUrl: '/t/1',
        },
      ]);
      const page = await t.knock.users.feeds.listItems('ada', 'in-app-feed');
      expect(ids(page.entries)).toEqual([newer.id, older.id]);
      expect(page.entries[0]).toEqual({
        __typename: 'FeedItem',
        id: newer.id,
        __cursor: expect.any(String),
        // A message not produced by a batch has one activity: its own trigger.
        activities: [expect.objectContaining({
          __typename: 'Activity',
          actor: expect.objectContaining({ id: 'grace' }),
          recipient: { __typename: 'User', id: 'ada' },
          data: { comment: 'Nice', thread: { id: 't1' } },
        })],
        total_activities: 1,
        actors: [
          expect.objectContaining({ __typename: 'User', id: 'grace', name: 'Grace', email: 'grace@example.com' }),
          { __typename: 'User', id: 'ghost' },
        ],
        total_actors: 2,
        blocks: [
          { name: 'body', type: 'markdown', content: 'Grace commented', rendered: '<p>Grace commented</p>' },
          { name: 'action_url', type: 'text', content: '/t/1', rendered: '/t/1' },
        ],
        data: { comment: 'Nice', thread: { id: 't1' } },
        source: expect.objectContaining({ __typename: 'NotificationSource', key: 'comment-created', categories: ['comments'], version_id: TEST_VERSION_ID }),
        tenant: 'acme',
        inserted_at: '2026-03-01T12:00:01.000Z',
        updated_at: '2026-03-01T12:00:01.000Z',
        seen_at: null, read_at: null, interacted_at: null, link_clicked_at: null, clicked_at: null, archived_at: null,
      });
    });

    it('wraps entries with meta, page_info and vars', async () => {
      await createMessage(t, { recipient: 'ada' });
      const body = await feed();
      expect(body.meta).toEqual({ __typename: 'FeedMetadata', total_count: 1, unread_count: 1, unseen_count: 1 });
      expect(body.page_info).toEqual({ __typename: 'PageInfo', page_size: 50, after: null, before: null });
      expect(body.vars).toEqual({});
    });

    it('pages with after, and fetches newer items with before=__cursor', async () => {
      const made = await createMessages(t, [1, 2, 3, 4, 5].map(() => ({ recipient: 'ada' })));
      const newestFirst = ids(made).reverse();
      const first = await feed('page_size=2');
      expect(ids(first.entries)).toEqual(newestFirst.slice(0, 2));
      const second = await feed(`page_size=2&after=${first.page_info.after}`);
      expect(ids(second.entries)).toEqual(newestFirst.slice(2, 4));
      const third = await feed(`page_size=2&after=${second.page_info.after}`);
      expect(ids(third.entries)).toEqual(newestFirst.slice(4));
      expect(third.page_info.after).toBeNull();
      // The browser client asks for what arrived since the newest item it holds.
      const newer = await feed(`before=${third.entries[0].__cursor}`);
      expect(ids(newer.entries)).toEqual(newestFirst.slice(0, 4));
    });

    it('pages through every item with the SDK iterator', async () => {
      const made = await createMessages(t, [1, 2, 3].map(() => ({ recipient: 'ada' })));
      const seen: string[] = [];
      for await (const item of t.knock.users.feeds.listItems('ada', 'in-app-feed', { page_size: 1 })) seen.push(item.id);
      expect(seen).toEqual(ids(made).reverse());
    });

    it('shows only this user’s delivered messages on this channel', async () => {
      await createChannel(t, 'team-feed');
      const [mine] = await createMessages(t, [
        { recipient: 'ada' },
        { recipient: 'bob' },
        { recipient: 'ada', channel: 'team-feed' },
        { recipient: 'ada', status: 'not_sent' }, // sandbox mode: recorded but never delivered
        { recipient: { id: 'ada', collection: 'projects' } },
      ]);
      const body = await feed();
      expect(ids(body.entries)).toEqual([mine.id]);
      expect(body.meta.total_count).toBe(1);
    });

    it('accepts the channel as key or UUID, and rejects an unknown channel', async () => {
      const m = await createMessage(t, { recipient: 'ada' });
      expect(ids((await feed('', 'ada', await channelId(t))).entries)).toEqual([m.id]);
      const res = await http(t, 'GET', '/v1/users/ada/feeds/no-such-feed');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ code: 'channel_invalid', message: 'No channel with id or key "no-such-feed" exists.', status: 404, type: 'invalid_request_error' });
    });

    it('gives a user nobody identified an empty feed, not a 404', async () => {
      const body = await feed('', 'never-seen');
      expect(body.entries).toEqual([]);
      expect(body.meta).toEqual({ __typename: 'FeedMetadata', total_count: 0, unread_count: 0, unseen_count: 0 });
    });

    it('compact mode keeps scalar data, one actor and no activities', async () => {
      await createMessage(t, { recipient: 'ada', actors: ['grace', 'alan'], data: { title: 'Hi', count: 2, tags: ['a'], nested: { x: 1 }, none: null } });
      const [item] = (await feed('mode=compact')).entries;
      expect(item.data).toEqual({ title: 'Hi', count: 2, none: null });
      expect(item.actors).toEqual([{ __typename: 'User', id: 'grace' }]);
      expect(item.total_actors).toBe(2);
      expect(item).not.toHaveProperty('activities');
      expect(item).not.toHaveProperty('total_activities');
    });

    it('drops the fields named by exclude', async () => {
      await createMessage(t, { recipient: 'ada' });
      const body = await feed('exclude=entries.archived_at,entries.clicked_at,meta.unseen_count');
      expect(body.entries[0]).not.toHaveProperty('archived_at');
      expect(body.entries[0]).not.toHaveProperty('clicked_at');
      expect(body.entries[0]).toHaveProperty('read_at', null);
      expect(body.meta).toEqual({ __typename: 'FeedMetadata', total_count: 1, unread_count: 1 });
    });
  });

  describe('meta counts', () => {
    it('counts non-archived items, unread and unseen, whatever page is asked for', async () => {
      await createMessages(t, [
        { recipient: 'ada' },
        { recipient: 'ada', seen: true },
        { recipient: 'ada', seen: true, read: true },
        { recipient: 'ada', archived: true },
      ]);
      const body = await feed('page_size=1&status=read');
      expect(body.entries).toHaveLength(1);
      expect(body.meta).toEqual({ __typename: 'FeedMetadata', total_count: 3, unread_count: 2, unseen_count: 1 });
    });

    it('scopes counts to the tenant and source asked for', async () => {
      await createMessages(t, [
        { recipient: 'ada', tenant: 'acme', workflow: 'invite' },
        { recipient: 'ada', tenant: 'acme', workflow: 'digest', read: true },
        { recipient: 'ada', tenant: 'globex', workflow: 'invite' },
      ]);
      expect((await feed('tenant=acme')).meta).toMatchObject({ total_count: 2, unread_count: 1 });
      expect((await feed('tenant=acme&source=invite')).meta).toMatchObject({ total_count: 1, unread_count: 1 });
    });

    it('follows status changes made through the messages API', async () => {
      const [a, b] = await createMessages(t, [{ recipient: 'ada' }, { recipient: 'ada' }]);
      await t.knock.messages.batch.markAsSeen({ message_ids: [a.id, b.id] });
      await t.knock.messages.markAsRead(a.id);
      await t.knock.messages.archive(b.id);
      expect((await feed()).meta).toEqual({ __typename: 'FeedMetadata', total_count: 1, unread_count: 0, unseen_count: 0 });
    });
  });

  describe('filters', () => {
    it('filters by read and seen status', async () => {
      const [plain, seen, read] = await createMessages(t, [
        { recipient: 'ada' }, { recipient: 'ada', seen: true }, { recipient: 'ada', seen: true, read: true },
      ]);
      expect(ids((await feed('status=unread')).entries)).toEqual([seen.id, plain.id]);
      expect(ids((await feed('status=read')).entries)).toEqual([read.id]);
      expect(ids((await feed('status=unseen')).entries)).toEqual([plain.id]);
      expect(ids((await feed('status=seen')).entries)).toEqual([read.id, seen.id]);
      expect(ids((await feed('status=all')).entries)).toEqual([read.id, seen.id, plain.id]);
    });

    it('excludes archived items unless asked to include them or only them', async () => {
      const [kept, archived] = await createMessages(t, [{ recipient: 'ada' }, { recipient: 'ada', archived: true }]);
      expect(ids((await feed()).entries)).toEqual([kept.id]);
      expect(ids((await feed('archived=exclude')).entries)).toEqual([kept.id]);
      expect(ids((await feed('archived=include')).entries)).toEqual([archived.id, kept.id]);
      expect(ids((await feed('archived=only')).entries)).toEqual([archived.id]);
    });

    it('filters by source, tenant and has_tenant', async () => {
      const [acme, none] = await createMessages(t, [
        { recipient: 'ada', tenant: 'acme', workflow: 'invite' },
        { recipient: 'ada', workflow: 'digest' },
      ]);
      const list = (query: Record<string, unknown>) => t.knock.users.feeds.listItems('ada', 'in-app-feed', query);
      expect(ids((await list({ source: 'digest' })).entries)).toEqual([none.id]);
      expect(ids((await list({ tenant: 'acme' })).entries)).toEqual([acme.id]);
      expect(ids((await list({ has_tenant: true })).entries)).toEqual([acme.id]);
      expect(ids((await list({ has_tenant: false })).entries)).toEqual([none.id]);
    });

    it('filters by workflow categories (any of them)', async () => {
      const [, billing, security] = await createMessages(t, [
        { recipient: 'ada', categories: ['social'] },
        { recipient: 'ada', categories: ['billing'] },
        { recipient: 'ada', categories: ['security', 'account'] },
      ]);
      const page = await t.knock.users.feeds.listItems('ada', 'in-app-feed', { workflow_categories: ['billing', 'security'] });
      expect(ids(page.entries)).toEqual([security.id, billing.id]);
      expect(ids((await feed('workflow_categories[]=account')).entries)).toEqual([security.id]);
    });

    it('filters by trigger data and rejects nested or malformed trigger data', async () => {
      const [apollo] = await createMessages(t, [{ recipient: 'ada', data: { project: 'apollo', n: 1 } }, { recipient: 'ada', data: { project: 'gemini' } }]);
      const page = await t.knock.users.feeds.listItems('ada', 'in-app-feed', { trigger_data: '{"project":"apollo"}' });
      expect(ids(page.entries)).toEqual([apollo.id]);
      const nested = await http(t, 'GET', `/v1/users/ada/feeds/in-app-feed?trigger_data=${encodeURIComponent('{"a":{"b":1}}')}`);
      expect(nested.status).toBe(422);
      expect(nested.body.code).toBe('invalid_params');
    });

    it('filters by inserted_at from the browser (dotted keys) and the SDK (brackets)', async () => {
      const made = await createMessages(t, [{ recipient: 'ada' }, { recipient: 'ada' }, { recipient: 'ada' }]);
      const browser = await feed('inserted_at.gte=2026-03-01T12:00:01Z&inserted_at.lte=2026-03-01T12:00:01Z');
      expect(ids(browser.entries)).toEqual([made[1].id]);
      const sdk = await t.knock.users.feeds.listItems('ada', 'in-app-feed', { inserted_at: { lt: '2026-03-01T12:00:01Z' } });
      expect(ids(sdk.entries)).toEqual([made[0].id]);
    });
  });

  describe('browser access with a public key', () => {
    const asBrowser = (method: string, path: string, body?: unknown) =>
      http(t, method, path, body, { authorization: `Bearer ${t.publicKey}` });

    it('reads the feed and its settings', async () => {
      await createMessage(t, { recipient: 'ada' });
      const res = await asBrowser('GET', '/v1/users/ada/feeds/in-app-feed?mode=compact&archived=exclude');
      expect(res.status).toBe(200);
      expect(res.body.entries).toHaveLength(1);
      const settings = await asBrowser('GET', '/v1/users/ada/feeds/in-app-feed/settings');
      expect(settings.body).toEqual({ features: { branding_required: false } });
      expect(await t.knock.users.feeds.getSettings('ada', 'in-app-feed')).toEqual({ features: { branding_required: false } });
    });

    it('marks all as read the way the feed client does, updating the counts', async () => {
      await createMessages(t, [{ recipient: 'ada', tenant: 'acme' }, { recipient: 'ada', tenant: 'acme' }, { recipient: 'ada' }]);
      const res = await asBrowser('POST', '/v1/channels/in-app-feed/messages/bulk/read',
        { user_ids: ['ada'], engagement_status: 'unread', archived: 'exclude', has_tenant: true, tenants: ['acme'] });
      expect(res.body).toMatchObject({ status: 'completed', success_count: 2 });
      expect((await feed()).meta).toMatchObject({ total_count: 3, unread_count: 1 });
    });

    it('marks items seen with the batch endpoint, as the feed client does on render', async () => {
      const [a, b] = await createMessages(t, [{ recipient: 'ada' }, { recipient: 'ada' }]);
      const res = await asBrowser('POST', '/v1/messages/batch/seen', { message_ids: [a.id, b.id] });
      expect(res.body.map((m: { seen_at: string }) => m.seen_at)).toEqual(['2026-03-01T12:00:02.000Z', '2026-03-01T12:00:02.000Z']);
      expect((await feed()).meta.unseen_count).toBe(0);
    });

    it('accepts a bulk request with an empty JSON body', async () => {
      await createMessage(t, { recipient: 'ada' });
      const res = await fetch(`${t.url}/v1/channels/in-app-feed/messages/bulk/archive`, {
        method: 'POST', headers: { authorization: `Bearer ${t.publicKey}`, 'content-type': 'application/json' },
      });
      expect(res.status).toBe(200);
      expect((await res.json()).success_count).toBe(1);
      expect((await feed()).entries).toEqual([]);
    });
  });
});
