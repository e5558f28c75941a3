import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError, signUserToken } from '@knocklabs/node';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { ManualClock } from '../../src/domain/clock.js';
import { TEST_VERSION_ID, channelId, createChannel, createMessage, createMessages } from '../support/messages.js';

const START = '2026-03-01T12:00:00.000Z';
const ids = (items: { id: string }[]) => items.map((m) => m.id);

describe.each(engines)('messages API (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine); });
  afterEach(async () => { await t.close(); });

  describe('reading a message', () => {
    it('returns the full Message resource', async () => {
      const m = await createMessage(t, {
        recipient: 'ada', workflow: 'comment-created', categories: ['comments'], tenant: 'acme',
        actors: ['grace', { id: 'bot-1', collection: 'bots' }], data: { comment: 'Nice!' },
      });
      const message = await t.knock.messages.get(m.id);
      expect(message).toEqual({
        __typename: 'Message',
        id: m.id,
        channel_id: await channelId(t),
        channel: expect.objectContaining({ id: await channelId(t), key: 'in-app-feed', type: 'in_app_feed', provider: 'knock_in_app', name: 'In-app feed' }),
        recipient: 'ada',
        actors: ['grace', { id: 'bot-1', collection: 'bots' }],
        status: 'delivered',
        engagement_statuses: [],
        source: {
          __typename: 'NotificationSource', key: 'comment-created', version_id: TEST_VERSION_ID, categories: ['comments'],
          step_ref: 'in_app_feed', type: 'workflow', workflow_run_id: m.workflowRunId, workflow_recipient_run_id: m.recipientRunId,
        },
        tenant: 'acme',
        data: { comment: 'Nice!' },
        metadata: null,
        inserted_at: START,
        updated_at: START,
        seen_at: null, read_at: null, interacted_at: null, link_clicked_at: null, clicked_at: null, archived_at: null,
        workflow: 'comment-created',
        scheduled_at: null,
      });
      expect(message.id).toHaveLength(27);
    });

    it('names an object recipient by {id, collection}', async () => {
      const m = await createMessage(t, { recipient: { id: 'proj-1', collection: 'projects' } });
      expect((await t.knock.messages.get(m.id)).recipient).toEqual({ id: 'proj-1', collection: 'projects' });
    });

    it('answers an unknown message with a 404 in Knock’s error shape', async () => {
      const res = await http(t, 'GET', '/v1/messages/2w3YUpTTOxuDvZFji8OMsKrG176');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({
        code: 'resource_missing', message: 'Message "2w3YUpTTOxuDvZFji8OMsKrG176" was not found.', status: 404, type: 'invalid_request_error',
      });
      await expect(t.knock.messages.markAsSeen('nope')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('returns the rendered in-app content blocks', async () => {
      const m = await createMessage(t, { recipient: 'ada', body: 'You have a **new** comment', actionUrl: 'https://app.example.com/c/1' });
      const content = await t.knock.messages.getContent(m.id);
      expect(content).toEqual({
        __typename: 'MessageContents',
        message_id: m.id,
        inserted_at: START,
        data: {
          __typename: 'MessageInAppFeedContent',
          blocks: [
            { name: 'body', type: 'markdown', content: 'You have a **new** comment', rendered: '<p>You have a **new** comment</p>' },
            { name: 'action_url', type: 'text', content: 'https://app.example.com/c/1', rendered: 'https://app.example.com/c/1' },
          ],
        },
      });
    });

    it('returns the contents of several messages at once', async () => {
      const [a, b] = await createMessages(t, [{ recipient: 'ada', body: 'first' }, { recipient: 'ada', body: 'second' }]);
      const contents = await t.knock.messages.batch.getContent({ message_ids: [b.id, a.id] });
      expect(contents.map((c) => c.message_id)).toEqual([b.id, a.id]);
    });

    it('lists a message’s events newest first, including status changes', async () => {
      const m = await createMessage(t, { recipient: 'ada' });
      await t.knock.messages.markAsSeen(m.id);
      const events = (await t.knock.messages.listEvents(m.id)).items;
      expect(events.map((e) => e.type)).toEqual(['message.seen', 'message.delivered', 'message.queued']);
      expect(events[0]).toEqual({ __typename: 'MessageEvent', id: expect.any(String), type: 'message.seen', recipient: 'ada', data: null, inserted_at: '2026-03-01T12:00:01.000Z' });
    });

    it('pages through events with page_size and after', async () => {
      const m = await createMessage(t, { recipient: 'ada' });
      await t.knock.messages.markAsSeen(m.id);
      const first = await t.knock.messages.listEvents(m.id, { page_size: 2 });
      expect(first.items.map((e) => e.type)).toEqual(['message.seen', 'message.delivered']);
      const second = await first.getNextPage();
      expect(second.items.map((e) => e.type)).toEqual(['message.queued']);
      expect(second.page_info.after).toBeNull();
    });
  });

  describe('engagement statuses', () => {
    it('marks seen and unseen, stamping the clock time and bumping updated_at', async () => {
      const m = await createMessage(t, { recipient: 'ada' });
      t.clock.set('2026-03-01T13:00:00Z');
      const seen = await t.knock.messages.markAsSeen(m.id);
      expect(seen.seen_at).toBe('2026-03-01T13:00:00.000Z');
      expect(seen.updated_at).toBe('2026-03-01T13:00:00.000Z');
      expect(seen.engagement_statuses).toEqual(['seen']);
      t.clock.set('2026-03-01T14:00:00Z');
      const unseen = await t.knock.messages.markAsUnseen(m.id);
      expect(unseen.seen_at).toBeNull();
      expect(unseen.engagement_statuses).toEqual([]);
      expect(unseen.updated_at).toBe('2026-03-01T14:00:00.000Z');
    });

    it('marks read and unread', async () => {
      const m = await createMessage(t, { recipient: 'ada' });
      expect((await t.knock.messages.markAsRead(m.id)).engagement_statuses).toEqual(['read']);
      const unread = await t.knock.messages.markAsUnread(m.id);
      expect(unread.read_at).toBeNull();
      expect(unread.engagement_statuses).toEqual([]);
    });

    it('archives and unarchives', async () => {
      const m = await createMessage(t, { recipient: 'ada' });
      const archived = await t.knock.messages.archive(m.id);
      expect(archived.archived_at).toBe('2026-03-01T12:00:01.000Z');
      expect(archived.engagement_statuses).toEqual(['archived']);
      expect((await t.knock.messages.unarchive(m.id)).archived_at).toBeNull();
    });

    it('marks interacted, which also marks read and stores the metadata', async () => {
      const m = await createMessage(t, { recipient: 'ada' });
      const message = await t.knock.messages.markAsInteracted(m.id, { metadata: { type: 'button_click', name: 'primary' } });
      expect(message.engagement_statuses).toEqual(['read', 'interacted']);
      expect(message.interacted_at).toBe('2026-03-01T12:00:01.000Z');
      expect(message.read_at).toBe('2026-03-01T12:00:01.000Z');
      expect(message.metadata).toEqual({ type: 'button_click', name: 'primary' });
      const events = (await t.knock.messages.listEvents(m.id)).items;
      expect(events.slice(0, 2).map((e) => [e.type, e.data])).toEqual([
        ['message.read', null],
        ['message.interacted', { metadata: { type: 'button_click', name: 'primary' } }],
      ]);
    });

    it('keeps the first timestamp and records one event when a status is set twice', async () => {
      const m = await createMessage(t, { recipient: 'ada' });
      await t.knock.messages.markAsSeen(m.id);
      t.clock.advance(60_000);
      const again = await t.knock.messages.markAsSeen(m.id);
      expect(again.seen_at).toBe('2026-03-01T12:00:01.000Z');
      const types = (await t.knock.messages.listEvents(m.id)).items.map((e) => e.type);
      expect(types.filter((type) => type === 'message.seen')).toHaveLength(1);
    });

    it('accepts the DELETE aliases unseen, unread and unarchived', async () => {
      const m = await createMessage(t, { recipient: 'ada', seen: true, read: true, archived: true });
      for (const alias of ['unseen', 'unread', 'unarchived']) {
        const res = await http(t, 'DELETE', `/v1/messages/${m.id}/${alias}`);
        expect(res.status).toBe(200);
      }
      expect((await t.knock.messages.get(m.id)).engagement_statuses).toEqual([]);
    });

    it('lets a browser (public key) mark a message read', async () => {
      const m = await createMessage(t, { recipient: 'ada' });
      const res = await http(t, 'PUT', `/v1/messages/${m.id}/read`, undefined, { authorization: `Bearer ${t.publicKey}` });
      expect(res.status).toBe(200);
      expect(res.body.engagement_statuses).toEqual(['read']);
    });

    it('does not let a public key list messages', async () => {
      const res = await http(t, 'GET', '/v1/messages', undefined, { authorization: `Bearer ${t.publicKey}` });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('incorrect_token_type');
    });
  });

  describe('batch status changes', () => {
    it('marks several messages at once and returns them in the order asked', async () => {
      const [a, b, c] = await createMessages(t, [{ recipient: 'ada' }, { recipient: 'ada' }, { recipient: 'ada' }]);
      const messages = await t.knock.messages.batch.markAsSeen({ message_ids: [c.id, a.id, 'unknown-id'] });
      expect(messages.map((m) => [m.id, m.engagement_statuses])).toEqual([[c.id, ['seen']], [a.id, ['seen']]]);
      expect((await t.knock.messages.get(b.id)).seen_at).toBeNull();
    });

    it('supports every batch action through the SDK', async () => {
      const [a] = await createMessages(t, [{ recipient: 'ada' }]);
      const batch = t.knock.messages.batch;
      const statuses = async () => (await t.knock.messages.get(a.id)).engagement_statuses;
      await batch.markAsRead({ message_ids: [a.id] });
      expect(await statuses()).toEqual(['read']);
      await batch.markAsUnread({ message_ids: [a.id] });
      await batch.markAsSeen({ message_ids: [a.id] });
      await batch.archive({ message_ids: [a.id] });
      expect(await statuses()).toEqual(['seen', 'archived']);
      await batch.unarchive({ message_ids: [a.id] });
      await batch.markAsUnseen({ message_ids: [a.id] });
      expect(await statuses()).toEqual([]);
      const [interacted] = await batch.markAsInteracted({ message_ids: [a.id], metadata: { type: 'cell_click', action: '/x' } });
      expect(interacted.engagement_statuses).toEqual(['read', 'interacted']);
      expect(interacted.metadata).toEqual({ type: 'cell_click', action: '/x' });
    });
  });

  describe('listing messages', () => {
    it('lists newest first and pages with after and before', async () => {
      const made = await createMessages(t, [1, 2, 3, 4, 5].map(() => ({ recipient: 'ada' })));
      const newestFirst = ids(made).reverse();
      const first = await t.knock.messages.list({ page_size: 2 });
      expect(ids(first.items)).toEqual(newestFirst.slice(0, 2));
      expect(first.page_info).toEqual({ __typename: 'PageInfo', page_size: 2, after: expect.any(String), before: null });
      const second = await first.getNextPage();
      expect(ids(second.items)).toEqual(newestFirst.slice(2, 4));
      // The SDK's PageInfo type omits `before`, but the API sends it (the browser client uses it).
      const before = (second.page_info as { before?: string | null }).before!;
      const back = await t.knock.messages.list({ page_size: 2, before });
      expect(ids(back.items)).toEqual(newestFirst.slice(0, 2));
      const all: string[] = [];
      for await (const m of t.knock.messages.list({ page_size: 2 })) all.push(m.id);
      expect(all).toEqual(newestFirst);
    });

    it('lists one user’s messages with users.listMessages', async () => {
      const [a1, , a2] = await createMessages(t, [{ recipient: 'ada' }, { recipient: 'bob' }, { recipient: 'ada' }]);
      expect(ids((await t.knock.users.listMessages('ada')).items)).toEqual([a2.id, a1.id]);
      expect((await t.knock.users.listMessages('nobody')).items).toEqual([]);
    });

    it('filters by channel, given as key or as UUID', async () => {
      await createChannel(t, 'email-main', 'email');
      const [feedMsg] = await createMessages(t, [{ recipient: 'ada' }, { recipient: 'ada', channel: 'email-main' }]);
      expect(ids((await t.knock.messages.list({ channel_id: 'in-app-feed' })).items)).toEqual([feedMsg.id]);
      expect(ids((await t.knock.messages.list({ channel_id: await channelId(t) })).items)).toEqual([feedMsg.id]);
      const unknown = await http(t, 'GET', '/v1/messages?channel_id=no-such-channel');
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe('channel_invalid');
    });

    it('filters by tenant, source and workflow categories', async () => {
      const [acme, , cats] = await createMessages(t, [
        { recipient: 'ada', tenant: 'acme', workflow: 'invite' },
        { recipient: 'ada', tenant: 'globex', workflow: 'invite' },
        { recipient: 'ada', workflow: 'digest', categories: ['marketing', 'weekly'] },
      ]);
      expect(ids((await t.knock.messages.list({ tenant: 'acme' })).items)).toEqual([acme.id]);
      expect(ids((await t.knock.messages.list({ source: 'digest' })).items)).toEqual([cats.id]);
      expect(ids((await t.knock.messages.list({ workflow_categories: ['weekly', 'other'] })).items)).toEqual([cats.id]);
    });

    it('filters by delivery status and by any of several engagement statuses', async () => {
      const [, seen, read, sandboxed] = await createMessages(t, [
        { recipient: 'ada' }, { recipient: 'ada', seen: true }, { recipient: 'ada', read: true }, { recipient: 'ada', status: 'not_sent' },
      ]);
      expect(ids((await t.knock.messages.list({ status: ['not_sent'] })).items)).toEqual([sandboxed.id]);
      expect(ids((await t.knock.messages.list({ engagement_status: ['seen', 'read'] })).items)).toEqual([read.id, seen.id]);
      expect((await t.knock.messages.list({ engagement_status: ['unread'] })).items).toHaveLength(3);
    });

    it('filters by message ids, workflow run and recipient run', async () => {
      const [a, b] = await createMessages(t, [{ recipient: 'ada' }, { recipient: 'bob' }, { recipient: 'cy' }]);
      expect(ids((await t.knock.messages.list({ message_ids: [a.id, b.id] })).items)).toEqual([b.id, a.id]);
      expect(ids((await t.knock.messages.list({ workflow_run_id: b.workflowRunId })).items)).toEqual([b.id]);
      expect(ids((await t.knock.messages.list({ workflow_recipient_run_id: a.recipientRunId })).items)).toEqual([a.id]);
      expect((await t.knock.messages.list({ workflow_run_id: 'not-a-uuid' })).items).toEqual([]);
    });

    it('filters by trigger data: every given key must equal the message data', async () => {
      const [match] = await createMessages(t, [
        { recipient: 'ada', data: { project: 'apollo', priority: 1, extra: true } },
        { recipient: 'ada', data: { project: 'apollo', priority: 2 } },
      ]);
      const items = (await t.knock.messages.list({ trigger_data: JSON.stringify({ project: 'apollo', priority: 1 }) })).items;
      expect(ids(items)).toEqual([match.id]);
      const bad = await http(t, 'GET', `/v1/messages?trigger_data=${encodeURIComponent('not json')}`);
      expect(bad.status).toBe(422);
      expect(bad.body.errors[0].field).toBe('trigger_data');
    });

    it('filters by inserted_at, from the SDK (brackets) and the browser (dotted keys)', async () => {
      const made = await createMessages(t, [{ recipient: 'ada' }, { recipient: 'ada' }, { recipient: 'ada' }]);
      const sdk = await t.knock.messages.list({ inserted_at: { gte: '2026-03-01T12:00:01Z', lt: '2026-03-01T12:00:02Z' } });
      expect(ids(sdk.items)).toEqual([made[1].id]);
      const dotted = await http(t, 'GET', '/v1/messages?inserted_at.gt=2026-03-01T12:00:00Z');
      expect(ids(dotted.body.items)).toEqual([made[2].id, made[1].id]);
      const bad = await http(t, 'GET', '/v1/messages?inserted_at.gt=yesterday');
      expect(bad.status).toBe(422);
    });
  });

  describe('bulk status changes in a channel', () => {
    it('marks every message of the given recipients seen and reports a completed operation', async () => {
      await createMessages(t, [{ recipient: 'ada' }, { recipient: 'ada' }, { recipient: 'bob' }]);
      const op = await t.knock.channels.bulk.updateMessageStatus('in-app-feed', 'seen', { recipient_ids: ['ada'] });
      expect(op).toEqual({
        __typename: 'BulkOperation', id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'channel_messages.bulk_seen', status: 'completed',
        estimated_total_rows: 2, processed_rows: 2, success_count: 2, error_count: 0, error_items: [],
        progress_path: `${t.url}/v1/bulk_operations/${op.id}`, inserted_at: '2026-03-01T12:00:03.000Z', updated_at: '2026-03-01T12:00:03.000Z',
        started_at: '2026-03-01T12:00:03.000Z', completed_at: '2026-03-01T12:00:03.000Z', failed_at: null,
      });
      expect((await t.knock.messages.list({ engagement_status: ['seen'] })).items.map((m) => m.recipient)).toEqual(['ada', 'ada']);
    });

    it('keeps the operation, so its progress_path answers with the same BulkOperation', async () => {
      await createMessages(t, [{ recipient: 'ada' }]);
      const op = await t.knock.channels.bulk.updateMessageStatus('in-app-feed', 'archive', { recipient_ids: ['ada'] });
      expect(await t.knock.bulkOperations.get(op.id)).toEqual(op);
      const followed = await http(t, 'GET', new URL(op.progress_path!).pathname);
      expect(followed.status).toBe(200);
      expect(followed.body.success_count).toBe(1);
      const missing = await http(t, 'GET', '/v1/bulk_operations/00000000-0000-4000-8000-000000000000');
      expect(missing.status).toBe(404);
    });

    it('accepts the channel UUID and rejects an unknown channel', async () => {
      await createMessage(t, { recipient: 'ada' });
      const op = await t.knock.channels.bulk.updateMessageStatus(await channelId(t), 'read', {});
      expect(op.success_count).toBe(1);
      const res = await http(t, 'POST', '/v1/channels/no-such-channel/messages/bulk/read', {});
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('channel_invalid');
    });

    it('narrows by tenants, workflows, has_tenant, trigger data and delivery status', async () => {
      await createMessages(t, [
        { recipient: 'ada', tenant: 'acme', workflow: 'invite', data: { project: 'x' } },
        { recipient: 'ada', tenant: 'globex', workflow: 'invite' },
        { recipient: 'ada', workflow: 'digest' },
        { recipient: 'ada', workflow: 'digest', status: 'not_sent' },
      ]);
      const bulk = (body: Record<string, unknown>) => t.knock.channels.bulk.updateMessageStatus('in-app-feed', 'read', body);
      expect((await bulk({ tenants: ['acme', 'initech'] })).success_count).toBe(1);
      expect((await bulk({ workflows: ['digest'], delivery_status: 'delivered' })).success_count).toBe(1);
      expect((await bulk({ has_tenant: true })).success_count).toBe(2);
      expect((await bulk({ trigger_data: '{"project":"x"}' })).success_count).toBe(1);
    });

    it('narrows by engagement status, archived and age', async () => {
      await createMessages(t, [
        { recipient: 'ada', read: true },
        { recipient: 'ada', read: true, archived: true },
        { recipient: 'ada' },
      ]);
      const op = await t.knock.channels.bulk.updateMessageStatus('in-app-feed', 'archive', { engagement_status: 'read', archived: 'exclude' });
      expect(op.success_count).toBe(1);
      expect((await t.knock.messages.list({ engagement_status: ['archived'] })).items).toHaveLength(2);
      const older = await t.knock.channels.bulk.updateMessageStatus('in-app-feed', 'seen', { older_than: '2026-03-01T12:00:01Z' });
      expect(older.success_count).toBe(1);
      const newer = await t.knock.channels.bulk.updateMessageStatus('in-app-feed', 'seen', { newer_than: '2026-03-01T12:00:00Z' });
      expect(newer.success_count).toBe(2);
    });

    it('unarchives and deletes in bulk', async () => {
      const [a, b] = await createMessages(t, [{ recipient: 'ada', archived: true }, { recipient: 'bob', archived: true }]);
      await t.knock.channels.bulk.updateMessageStatus('in-app-feed', 'unarchive', { recipient_ids: ['ada'] });
      expect((await t.knock.messages.get(a.id)).archived_at).toBeNull();
      const deleted = await t.knock.channels.bulk.updateMessageStatus('in-app-feed', 'delete', { recipient_ids: ['bob'] });
      expect(deleted.success_count).toBe(1);
      await expect(t.knock.messages.get(b.id)).rejects.toBeInstanceOf(NotFoundError);
    });

    it('accepts the browser client’s mark-all body (user_ids) with a public key', async () => {
      await createMessages(t, [{ recipient: 'ada' }, { recipient: 'ada', read: true }, { recipient: 'bob' }]);
      const res = await http(t, 'POST', '/v1/channels/in-app-feed/messages/bulk/read',
        { user_ids: ['ada'], engagement_status: 'unread', archived: 'exclude' }, { authorization: `Bearer ${t.publicKey}` });
      expect(res.status).toBe(200);
      expect(res.body.success_count).toBe(1);
      expect((await t.knock.users.listMessages('ada', { engagement_status: ['unread'] })).items).toEqual([]);
      expect((await t.knock.users.listMessages('bob', { engagement_status: ['unread'] })).items).toHaveLength(1);
    });

    it('records an event for each message whose state changed', async () => {
      const [a, b] = await createMessages(t, [{ recipient: 'ada' }, { recipient: 'ada', seen: true }]);
      const op = await t.knock.channels.bulk.updateMessageStatus('in-app-feed', 'seen', { recipient_ids: ['ada'] });
      expect(op.success_count).toBe(2);
      const seenEvents = async (id: string) => (await t.knock.messages.listEvents(id)).items.filter((e) => e.type === 'message.seen');
      expect(await seenEvents(a.id)).toHaveLength(1);
      expect(await seenEvents(b.id)).toHaveLength(0);
    });
  });
});

describe.each(engines)('messages API with user tokens (%s)', (engine) => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let t: TestHerald;
  // signUserToken stamps its tokens with the real time; the server clock must agree.
  beforeEach(async () => { t = await startTestHerald(engine, { signingPublicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), clock: new ManualClock(new Date()) }); });
  afterEach(async () => { await t.close(); });

  it('lets a user token change only its own user’s messages', async () => {
    const [mine, theirs] = await createMessages(t, [{ recipient: 'ada' }, { recipient: 'bob' }]);
    const token = await signUserToken('ada', { signingKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() });
    const asAda = { authorization: `Bearer ${t.publicKey}`, 'x-knock-user-token': token };
    expect((await http(t, 'PUT', `/v1/messages/${mine.id}/seen`, undefined, asAda)).status).toBe(200);
    expect((await http(t, 'PUT', `/v1/messages/${theirs.id}/seen`, undefined, asAda)).status).toBe(404);
    const batch = await http(t, 'POST', '/v1/messages/batch/read', { message_ids: [mine.id, theirs.id] }, asAda);
    expect(batch.body.map((m: { id: string }) => m.id)).toEqual([mine.id]);
    const bulk = await http(t, 'POST', '/v1/channels/in-app-feed/messages/bulk/archive', {}, asAda);
    expect(bulk.body.success_count).toBe(1);
    const forBob = await http(t, 'POST', '/v1/channels/in-app-feed/messages/bulk/archive', { user_ids: ['bob'] }, asAda);
    expect(forBob.status).toBe(403);
    expect((await t.knock.messages.get(theirs.id)).engagement_statuses).toEqual([]);
  });
});
