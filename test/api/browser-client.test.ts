/**
 * Drives Herald with Knock's real browser client, `@knocklabs/client`, from Node: only its base
 * URL (`host`) points at Herald. Its realtime socket needs `window` and `listenForUpdates()`, and
 * neither is used here, so everything below is plain HTTP.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import KnockExport, { isRequestInFlight, type Feed, type FeedClientOptions } from '@knocklabs/client';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';
import { signUserTokenAt } from '../support/user-tokens.js';
import { channelId, createChannel, createMessages } from '../support/messages.js';

const hello = {
  key: 'hello',
  name: 'Hello',
  categories: ['greetings'],
  steps: [{
    ref: 'feed',
    type: 'channel',
    channel_key: 'in-app-feed',
    template: { markdown_body: 'Hi **{{ recipient.name }}**', action_url: 'https://x/{{ data.id }}' },
  }],
};

const { publicKey: rsaPublic, privateKey: rsaPrivate } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingPublicKey = rsaPublic.export({ type: 'spki', format: 'pem' }).toString();
const signingPrivateKey = rsaPrivate.export({ type: 'pkcs8', format: 'pem' }).toString();

// The package's ESM build default-exports the Knock class, but its typings are CommonJS-format
// `.d.ts` files, so under NodeNext the default import is typed as the whole module (whose
// `.default` is the class). Take the class whichever way the runtime hands it over.
const Knock = ((KnockExport as { default?: unknown }).default ?? KnockExport) as typeof KnockExport.default;
type Knock = InstanceType<typeof Knock>;

interface SentRequest { method: string; path: string; query: URLSearchParams; headers: Record<string, string>; body: any }

describe.each(engines)('@knocklabs/client against Herald (%s)', (engine) => {
  let t: TestHerald;
  /** Requests the browser client made (it reads globalThis.fetch when its API client is built). */
  let sent: SentRequest[];

  const start = async (opts: { signingPublicKey?: string } = {}) => {
    t = await startTestHerald(engine, { workflows: [hello], ...opts });
  };

  beforeEach(() => {
    sent = [];
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const headers = Object.fromEntries(Object.entries((init?.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
      if (headers['x-knock-client']?.startsWith('Knock/ClientJS')) {
        const url = new URL(String(input));
        sent.push({ method: init?.method ?? 'GET', path: url.pathname, query: url.searchParams, headers, body: init?.body ? JSON.parse(String(init.body)) : undefined });
      }
      return realFetch(input, init);
    });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await t.close();
  });

  /** A browser client with Herald's public key, signed in as `userId` (with a user token if given). */
  const browser = (userId: string, userToken?: string) => {
    const knock = new Knock(t.publicKey, { host: t.url });
    knock.authenticate(userId, userToken);
    return knock;
  };

  /** The feed for the seeded in-app channel, addressed by its UUID as the Knock dashboard shows it. */
  const openFeed = async (knock: Knock, options: FeedClientOptions = {}) => knock.feeds.initialize(await channelId(t), options);

  /** `fetchNextPage` does not wait for its request; this waits until the feed store settles. */
  const settled = (feed: Feed) => new Promise<void>((resolve) => {
    if (!isRequestInFlight(feed.getState().networkStatus)) return resolve();
    const unsubscribe = feed.store.subscribe((state) => {
      if (!isRequestInFlight(state.networkStatus)) { unsubscribe(); resolve(); }
    });
  });

  const trigger = async (recipients: string[], data: Record<string, unknown>, tenant?: string) => {
    await t.knock.workflows.trigger('hello', { recipients, data, ...(tenant ? { tenant } : {}) });
    await t.drain();
    t.clock.advance(1000);
  };

  const itemIds = (feed: Feed) => feed.getState().items.map((i) => i.id);

  it('fetches the feed with the public key: entries, meta counts and rendered blocks', async () => {
    await start();
    await t.knock.users.update('ada', { name: 'Ada' });
    await trigger(['ada'], { id: 1 });
    await trigger(['ada', 'bob'], { id: 2 });

    const knock = browser('ada');
    const feed = await openFeed(knock);
    const res = await feed.fetch();

    expect(res?.status).toBe('ok');
    const state = feed.getState();
    expect(state.metadata).toEqual({ __typename: 'FeedMetadata', total_count: 2, unread_count: 2, unseen_count: 2 });
    expect(state.pageInfo).toEqual({ __typename: 'PageInfo', page_size: 50, after: null, before: null });
    expect(state.items.map((i) => i.data)).toEqual([{ id: 2 }, { id: 1 }]);
    const [newest] = state.items;
    expect(newest.blocks).toEqual([
      { name: 'body', type: 'markdown', content: 'Hi **Ada**', rendered: '<p>Hi <strong>Ada</strong></p>' },
      { name: 'action_url', type: 'text', content: 'https://x/2', rendered: 'https://x/2' },
    ]);
    expect(newest).toMatchObject({
      __typename: 'FeedItem',
      __cursor: expect.any(String),
      source: { key: 'hello', categories: ['greetings'] },
      tenant: null,
      seen_at: null,
      read_at: null,
      archived_at: null,
    });
    // The client's defaults: compact mode, archived excluded, Bearer pk_, no user token.
    const [req] = sent;
    expect(req.method).toBe('GET');
    expect(req.path).toBe(`/v1/users/ada/feeds/${await channelId(t)}`);
    expect(Object.fromEntries(req.query)).toEqual({ archived: 'exclude', mode: 'compact' });
    expect(req.headers.authorization).toBe(`Bearer ${t.publicKey}`);
    expect(req.headers).not.toHaveProperty('x-knock-user-token');
    // Compact mode: no activities.
    expect(newest).not.toHaveProperty('activities');
  });

  it('pages with page_size and fetchNextPage', async () => {
    await start();
    for (const id of [1, 2, 3, 4, 5]) await trigger(['ada'], { id });

    const feed = await openFeed(browser('ada'), { page_size: 2 });
    await feed.fetch();
    expect(feed.getState().items.map((i) => i.data?.id)).toEqual([5, 4]);
    expect(feed.getState().pageInfo.after).toEqual(expect.any(String));
    expect(feed.getState().metadata.total_count).toBe(5);

    await feed.fetchNextPage();
    await settled(feed);
    expect(feed.getState().items.map((i) => i.data?.id)).toEqual([5, 4, 3, 2]);

    await feed.fetchNextPage();
    await settled(feed);
    expect(feed.getState().items.map((i) => i.data?.id)).toEqual([5, 4, 3, 2, 1]);
    expect(feed.getState().pageInfo.after).toBeNull();
    expect(feed.getState().networkStatus).toBe('ready');

    // Nothing further to fetch: no request is made.
    const before = sent.length;
    await feed.fetchNextPage();
    expect(sent.length).toBe(before);
    // Every page request carried the page size, and the follow-ups the previous page's cursor.
    expect(sent.map((r) => r.query.get('page_size'))).toEqual(['2', '2', '2']);
    expect(sent[0].query.has('after')).toBe(false);
    expect(sent[1].query.get('after')).toEqual(expect.any(String));

    // What the client does on a realtime `new-message`: fetch before its newest item's cursor,
    // appending the new items while keeping its page_info.
    await trigger(['ada'], { id: 6 });
    await feed.fetch({ before: feed.getState().items[0].__cursor });
    expect(sent.at(-1)!.query.get('before')).toBe(feed.getState().items[1].__cursor);
    expect(feed.getState().items.map((i) => i.data?.id)).toEqual([6, 5, 4, 3, 2, 1]);
    expect(feed.getState().metadata.total_count).toBe(6);
    expect(feed.getState().pageInfo.after).toBeNull();
  });

  it('markAsRead and markAsSeen on an item change the server state', async () => {
    await start();
    await trigger(['ada'], { id: 1 });
    await trigger(['ada'], { id: 2 });

    const feed = await openFeed(browser('ada'));
    await feed.fetch();
    const [second, first] = feed.getState().items;

    const read = await feed.markAsRead(second);
    expect(sent.at(-1)).toMatchObject({ method: 'POST', path: '/v1/messages/batch/read', body: { message_ids: [second.id] } });
    expect(read).toEqual([expect.objectContaining({ __typename: 'Message', id: second.id, read_at: '2026-03-01T12:00:02.000Z' })]);
    // Optimistic update in the client's store.
    expect(feed.getState().metadata.unread_count).toBe(1);

    const seen = await feed.markAsSeen([first, second]);
    expect(sent.at(-1)).toMatchObject({ method: 'POST', path: '/v1/messages/batch/seen', body: { message_ids: [first.id, second.id] } });
    expect(Array.isArray(seen) && seen.map((m) => m.id)).toEqual([first.id, second.id]);

    const a = await t.knock.messages.get(second.id);
    expect(a.read_at).toBe('2026-03-01T12:00:02.000Z');
    expect(a.seen_at).toBe('2026-03-01T12:00:02.000Z');
    expect(a.engagement_statuses).toEqual(['seen', 'read']);
    const b = await t.knock.messages.get(first.id);
    expect(b.read_at).toBeNull();
    expect(b.engagement_statuses).toEqual(['seen']);

    // A fresh fetch agrees with what the client assumed.
    await feed.fetch();
    expect(feed.getState().metadata).toEqual({ __typename: 'FeedMetadata', total_count: 2, unread_count: 1, unseen_count: 0 });
  });

  it('markAsInteracted sends its metadata and also marks the item read; markAsArchived removes it', async () => {
    await start();
    await trigger(['ada'], { id: 1 });
    await trigger(['ada'], { id: 2 });
    const feed = await openFeed(browser('ada'));
    await feed.fetch();
    const [second, first] = feed.getState().items;

    await feed.markAsInteracted(second, { type: 'cell_click', action: 'https://x/2' });
    expect(sent.at(-1)).toMatchObject({
      path: '/v1/messages/batch/interacted',
      body: { message_ids: [second.id], metadata: { type: 'cell_click', action: 'https://x/2' } },
    });
    const interacted = await t.knock.messages.get(second.id);
    expect(interacted.engagement_statuses).toEqual(['read', 'interacted']);

    await feed.markAsArchived(first);
    expect(sent.at(-1)).toMatchObject({ path: '/v1/messages/batch/archived', body: { message_ids: [first.id] } });
    expect(itemIds(feed)).toEqual([second.id]);
    expect((await t.knock.messages.get(first.id)).archived_at).toBe('2026-03-01T12:00:02.000Z');
    await feed.fetch();
    expect(itemIds(feed)).toEqual([second.id]);
    expect(feed.getState().metadata).toMatchObject({ total_count: 1, unread_count: 0 });
  });

  it('undoes statuses with markAsUnread/Unseen/Unarchived, and uses the single-message client', async () => {
    await start();
    const [m] = await createMessages(t, [{ recipient: 'ada', seen: true, read: true, archived: true }]);
    const knock = browser('ada');
    const feed = await openFeed(knock, { archived: 'include' });
    await feed.fetch();
    const [item] = feed.getState().items;
    expect(item).toMatchObject({ id: m.id, seen_at: '2026-03-01T12:00:00.000Z', read_at: '2026-03-01T12:00:00.000Z', archived_at: '2026-03-01T12:00:00.000Z' });

    await feed.markAsUnread(item);
    await feed.markAsUnseen(item);
    await feed.markAsUnarchived(item);
    expect(sent.slice(-3).map((r) => r.path)).toEqual(['/v1/messages/batch/unread', '/v1/messages/batch/unseen', '/v1/messages/batch/unarchived']);
    expect((await t.knock.messages.get(m.id)).engagement_statuses).toEqual([]);

    const seen = await knock.messages.updateStatus(m.id, 'seen');
    expect(sent.at(-1)).toMatchObject({ method: 'PUT', path: `/v1/messages/${m.id}/seen` });
    expect(seen).toMatchObject({ id: m.id, engagement_statuses: ['seen'], seen_at: '2026-03-01T12:00:01.000Z' });
    const interacted = await knock.messages.updateStatus(m.id, 'interacted', { metadata: { type: 'button_click', name: 'primary' } });
    expect(sent.at(-1)!.body).toEqual({ metadata: { type: 'button_click', name: 'primary' } });
    expect(interacted).toMatchObject({ engagement_statuses: ['seen', 'read', 'interacted'] });
    const unseen = await knock.messages.removeStatus(m.id, 'seen');
    expect(sent.at(-1)).toMatchObject({ method: 'DELETE', path: `/v1/messages/${m.id}/seen` });
    expect(unseen).toMatchObject({ seen_at: null, engagement_statuses: ['read', 'interacted'] });
  });

  it('sets and gets an object’s channel data', async () => {
    await start();
    const slackId = await createChannel(t, 'slack', 'chat');
    const knock = browser('ada');
    const set = await knock.objects.setChannelData({ collection: 'projects', objectId: 'apollo', channelId: slackId, data: { connections: [{ incoming_webhook: { url: 'https://hooks/x' } }] } });
    expect(sent.at(-1)).toMatchObject({ method: 'PUT', path: `/v1/objects/projects/apollo/channel_data/${slackId}` });
    expect(set).toMatchObject({ channel_id: slackId, data: { connections: [{ incoming_webhook: { url: 'https://hooks/x' } }] } });
    expect(await knock.objects.getChannelData({ collection: 'projects', objectId: 'apollo', channelId: slackId }))
      .toMatchObject({ channel_id: slackId, data: { connections: [{ incoming_webhook: { url: 'https://hooks/x' } }] } });
  });

  it('markAllAsSeen bulk-updates only this user, scoped by the feed tenant (body uses user_ids)', async () => {
    await start();
    await trigger(['ada', 'bob'], { id: 1 }, 'acme');
    await trigger(['ada'], { id: 2 }, 'acme');
    await trigger(['ada'], { id: 3 });

    const feed = await openFeed(browser('ada'), { tenant: 'acme' });
    await feed.fetch();
    expect(feed.getState().metadata).toMatchObject({ total_count: 2, unseen_count: 2 });

    const op = await feed.markAllAsSeen();
    const req = sent.at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe(`/v1/channels/${await channelId(t)}/messages/bulk/seen`);
    expect(req.body).toEqual({ user_ids: ['ada'], archived: 'exclude', tenants: ['acme'] });
    expect(op).toMatchObject({ __typename: 'BulkOperation', status: 'completed', name: 'channel_messages.bulk_seen', success_count: 2 });

    const ada = await t.knock.users.listMessages('ada');
    expect(ada.items.map((m) => [m.data?.id, m.tenant, m.seen_at !== null])).toEqual([[3, null, false], [2, 'acme', true], [1, 'acme', true]]);
    const bob = await t.knock.users.listMessages('bob');
    expect(bob.items.map((m) => m.seen_at)).toEqual([null]);

    await feed.fetch();
    expect(feed.getState().metadata).toMatchObject({ total_count: 2, unseen_count: 0, unread_count: 2 });
  });

  it('markAllAsArchived empties the feed on the server', async () => {
    await start();
    await trigger(['ada', 'bob'], { id: 1 });
    await trigger(['ada'], { id: 2 });

    const feed = await openFeed(browser('ada'));
    await feed.fetch();
    expect(feed.getState().items).toHaveLength(2);

    const op = await feed.markAllAsArchived();
    expect(sent.at(-1)).toMatchObject({ path: `/v1/channels/${await channelId(t)}/messages/bulk/archive`, body: { user_ids: ['ada'], archived: 'exclude' } });
    expect(op).toMatchObject({ status: 'completed', success_count: 2 });
    expect(feed.getState().items).toEqual([]);

    const ada = await t.knock.users.listMessages('ada');
    expect(ada.items.every((m) => m.archived_at === '2026-03-01T12:00:02.000Z')).toBe(true);
    expect((await t.knock.users.listMessages('bob')).items.map((m) => m.archived_at)).toEqual([null]);

    await feed.fetch();
    expect(feed.getState().items).toEqual([]);
    expect(feed.getState().metadata).toMatchObject({ total_count: 0, unread_count: 0, unseen_count: 0 });
    // The archived messages are still there for a feed that asks for them.
    const archived = await openFeed(browser('ada'), { archived: 'only' });
    await archived.fetch();
    expect(archived.getState().items.map((i) => i.data?.id)).toEqual([2, 1]);
  });

  it('markAllAsRead on an unread-only feed sends the engagement filter', async () => {
    await start();
    const [m1, m2] = await createMessages(t, [{ recipient: 'ada' }, { recipient: 'ada', read: true }, { recipient: 'ada' }]);
    const feed = await openFeed(browser('ada'), { status: 'unread' });
    await feed.fetch();
    expect(feed.getState().items).toHaveLength(2);

    const op = await feed.markAllAsRead();
    expect(sent.at(-1)!.body).toEqual({ user_ids: ['ada'], engagement_status: 'unread', archived: 'exclude' });
    expect(op).toMatchObject({ status: 'completed', success_count: 2 });
    // The one already read keeps its original read_at.
    expect((await t.knock.messages.get(m2.id)).read_at).toBe('2026-03-01T12:00:01.000Z');
    expect((await t.knock.messages.get(m1.id)).read_at).toBe('2026-03-01T12:00:03.000Z');
  });

  it('filters the feed by tenant', async () => {
    await start();
    await trigger(['ada'], { id: 1 }, 'acme');
    await trigger(['ada'], { id: 2 }, 'globex');
    await trigger(['ada'], { id: 3 });

    const acme = await openFeed(browser('ada'), { tenant: 'acme' });
    await acme.fetch();
    expect(sent.at(-1)!.query.get('tenant')).toBe('acme');
    expect(acme.getState().items.map((i) => [i.data?.id, i.tenant])).toEqual([[1, 'acme']]);
    expect(acme.getState().metadata).toMatchObject({ total_count: 1, unread_count: 1 });

    const withTenant = await openFeed(browser('ada'), { has_tenant: true });
    await withTenant.fetch();
    expect(sent.at(-1)!.query.get('has_tenant')).toBe('true');
    expect(withTenant.getState().items.map((i) => i.data?.id)).toEqual([2, 1]);
  });

  it('filters the feed by status: unread', async () => {
    await start();
    await trigger(['ada'], { id: 1 });
    await trigger(['ada'], { id: 2 });
    await trigger(['ada'], { id: 3 });
    const all = await t.knock.users.listMessages('ada');
    const two = all.items.find((m) => (m.data as { id: number }).id === 2)!;
    await t.knock.messages.markAsRead(two.id);

    const feed = await openFeed(browser('ada'), { status: 'unread' });
    await feed.fetch();
    expect(sent.at(-1)!.query.get('status')).toBe('unread');
    expect(feed.getState().items.map((i) => i.data?.id)).toEqual([3, 1]);
    expect(feed.getState().metadata).toMatchObject({ total_count: 3, unread_count: 2 });

    // Reading one from the unread view: the server no longer lists it.
    await feed.markAsRead(feed.getState().items[0]);
    await feed.fetch();
    expect(feed.getState().items.map((i) => i.data?.id)).toEqual([1]);
  });

  it('filters by source, workflow categories, trigger data and date range', async () => {
    await start();
    await createMessages(t, [
      { recipient: 'ada', workflow: 'invite', categories: ['social'], data: { project: 'apollo' } },
      { recipient: 'ada', workflow: 'digest', categories: ['billing'], data: { project: 'gemini' } },
      { recipient: 'ada', workflow: 'invite', categories: ['social'], data: { project: 'gemini' } },
    ]);
    const projects = async (options: FeedClientOptions) => {
      const feed = await openFeed(browser('ada'), options);
      await feed.fetch();
      return feed.getState().items.map((i) => `${i.source.key}:${i.data?.project}`);
    };
    expect(await projects({ source: 'invite' })).toEqual(['invite:gemini', 'invite:apollo']);
    expect(await projects({ workflow_categories: ['billing'] })).toEqual(['digest:gemini']);
    expect(sent.at(-1)!.query.getAll('workflow_categories[]')).toEqual(['billing']);
    expect(await projects({ trigger_data: { project: 'gemini' } })).toEqual(['invite:gemini', 'digest:gemini']);
    expect(sent.at(-1)!.query.get('trigger_data')).toBe('{"project":"gemini"}');
    expect(await projects({ inserted_at_date_range: { start: '2026-03-01T12:00:01Z', end: '2026-03-01T12:00:02Z', inclusive: true } }))
      .toEqual(['invite:gemini', 'digest:gemini']);
    expect(sent.at(-1)!.query.get('inserted_at.gte')).toBe('2026-03-01T12:00:01Z');
    expect(await projects({ inserted_at_date_range: { start: '2026-03-01T12:00:01Z' } })).toEqual(['invite:gemini']);
  });

  it('identifies and reads the signed-in user', async () => {
    await start();
    const knock = browser('ada');
    const identified = await knock.user.identify({ name: 'Ada Lovelace', email: 'ada@example.com', plan: 'pro' });
    expect(sent.at(-1)).toMatchObject({ method: 'PUT', path: '/v1/users/ada', body: { name: 'Ada Lovelace', email: 'ada@example.com', plan: 'pro' } });
    expect(identified).toMatchObject({ __typename: 'User', id: 'ada', name: 'Ada Lovelace', email: 'ada@example.com', plan: 'pro' });

    const got = await knock.user.get();
    expect(got).toMatchObject({ id: 'ada', name: 'Ada Lovelace', email: 'ada@example.com', plan: 'pro', phone_number: null });
    // created_at is the caller's to set (null until then); updated_at is when it was identified.
    expect(got.created_at).toBeNull();
    expect(got.updated_at).toBe('2026-03-01T12:00:00.000Z');
    expect((await t.knock.users.get('ada')).name).toBe('Ada Lovelace');

    // A merge, as Knock's identify is.
    await knock.user.identify({ name: 'Ada' });
    expect(await knock.user.get()).toMatchObject({ name: 'Ada', email: 'ada@example.com', plan: 'pro' });

    // user.get throws for a user nobody identified.
    await expect(browser('nobody').user.get()).rejects.toThrow(/404/);
  });

  it('identifies inline when authenticating with a user object', async () => {
    await start();
    const knock = new Knock(t.publicKey, { host: t.url });
    knock.authenticate({ id: 'grace', name: 'Grace Hopper' });
    // The inline identify is fired without being awaited; wait for it to land.
    await vi.waitFor(async () => expect((await t.knock.users.get('grace')).name).toBe('Grace Hopper'), { timeout: 5000, interval: 50 });
    expect(sent[0]).toMatchObject({ method: 'PUT', path: '/v1/users/grace', body: { name: 'Grace Hopper' } });
  });

  it('sets and gets channel data', async () => {
    await start();
    const pushId = await createChannel(t, 'apns', 'push');
    const knock = browser('ada');
    const set = await knock.user.setChannelData({ channelId: pushId, channelData: { tokens: ['device-1', 'device-2'] } });
    expect(sent.at(-1)).toMatchObject({ method: 'PUT', path: `/v1/users/ada/channel_data/${pushId}`, body: { data: { tokens: ['device-1', 'device-2'] } } });
    expect(set).toEqual({ __typename: 'ChannelData', channel_id: pushId, data: { tokens: ['device-1', 'device-2'] } });

    const got = await knock.user.getChannelData({ channelId: pushId });
    expect(got).toEqual({ __typename: 'ChannelData', channel_id: pushId, data: { tokens: ['device-1', 'device-2'] } });
    expect(await t.knock.users.getChannelData('ada', pushId)).toMatchObject({ data: { tokens: ['device-1', 'device-2'] } });

    // Missing channel data is an error the client throws.
    await expect(browser('bob').user.getChannelData({ channelId: pushId })).rejects.toThrow(/404/);
  });

  describe('with a signing key (enhanced security)', () => {
    beforeEach(async () => { await start({ signingPublicKey }); });

    it('works with a user token', async () => {
      await t.knock.users.update('ada', { name: 'Ada' });
      await trigger(['ada'], { id: 1 });
      const token = await signUserTokenAt(t.clock, 'ada', { signingKey: signingPrivateKey });
      const knock = browser('ada', token);

      const feed = await openFeed(knock);
      expect((await feed.fetch())?.status).toBe('ok');
      expect(sent.at(-1)!.headers['x-knock-user-token']).toBe(token);
      expect(feed.getState().items.map((i) => i.blocks[0])).toEqual([
        { name: 'body', type: 'markdown', content: 'Hi **Ada**', rendered: '<p>Hi <strong>Ada</strong></p>' },
      ]);
      const [item] = feed.getState().items;
      await feed.markAsRead(item);
      expect((await t.knock.messages.get(item.id)).read_at).not.toBeNull();
      expect(await feed.markAllAsArchived()).toMatchObject({ status: 'completed', success_count: 1 });
      expect((await t.knock.messages.get(item.id)).archived_at).not.toBeNull();
      expect(await knock.user.get()).toMatchObject({ id: 'ada', name: 'Ada' });
    });

    it('without a user token gets an auth error', async () => {
      await trigger(['ada'], { id: 1 });
      const knock = browser('ada');
      const feed = await openFeed(knock);
      const res = await feed.fetch();
      expect(res?.status).toBe('error');
      const error = res?.data as { response?: { status: number; data: unknown } };
      expect(error.response).toEqual({
        status: 401,
        data: { code: 'missing_user_token', message: expect.any(String), status: 401, type: 'authentication_error' },
      });
      expect(feed.getState().networkStatus).toBe('error');
      expect(feed.getState().items).toEqual([]);
      await expect(knock.user.get()).rejects.toThrow(/401/);
    });

    it('rejects a token for another user or a forged token', async () => {
      await trigger(['ada'], { id: 1 });
      const bobToken = await signUserTokenAt(t.clock, 'bob', { signingKey: signingPrivateKey });
      const asBob = await openFeed(browser('ada', bobToken));
      const res = await asBob.fetch();
      expect((res?.data as { response?: { status: number } }).response?.status).toBe(403);

      const adaToken = await signUserTokenAt(t.clock, 'ada', { signingKey: signingPrivateKey });
      const forged = await openFeed(browser('ada', `${adaToken.slice(0, -4)}AAAA`));
      const forgedRes = await forged.fetch();
      expect((forgedRes?.data as { response?: { status: number; data: { code: string } } }).response)
        .toMatchObject({ status: 401, data: { code: 'invalid_user_token' } });

      // Bob's token cannot reach Ada's messages through the batch endpoint either.
      const [adaMessage] = (await t.knock.users.listMessages('ada')).items;
      const bob = browser('bob', bobToken);
      const updated = await bob.messages.batchUpdateStatuses([adaMessage.id], 'read');
      expect(updated).toEqual([]);
      expect((await t.knock.messages.get(adaMessage.id)).read_at).toBeNull();
    });
  });
});
