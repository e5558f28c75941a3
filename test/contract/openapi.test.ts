/**
 * Herald's real responses checked against the response schemas in Knock's own OpenAPI
 * document. Each call names the operation as the spec spells it (method + path template), and
 * the body is validated against that operation's documented 200/204 response. Properties the
 * spec does not list are allowed (no Knock schema closes `additionalProperties`).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { createMessage } from '../support/messages.js';
import { componentValidator, responseContract } from '../support/openapi.js';

const feedStep = { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hi **{{ recipient.name }}**', action_url: 'https://app.example.com/x' } };
const hello = { key: 'hello', name: 'Hello', categories: ['greetings'], steps: [feedStep] };
const waiting = {
  key: 'waiting', name: 'Waiting',
  steps: [{ ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'hours', value: 1 } } }, feedStep],
};

const broken = {
  key: 'broken', name: 'Broken',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: "{% render 'missing-partial' %}" } }],
};

interface Call {
  /** Values for the template's `{placeholders}`. */
  params?: Record<string, string>;
  /** A query string, without the `?`. */
  query?: string;
  body?: unknown;
  /** The documented status expected; 200 unless given. */
  status?: number;
}

describe.each(engines)('Knock OpenAPI response contract (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows: [hello, waiting, broken] }); });
  afterEach(async () => { await t.close(); });

  /**
   * Calls the operation `METHOD /path/{template}` on Herald, expects the documented status, and
   * expects the body to satisfy that response's schema. Returns the body.
   */
  const conforms = async (operation: string, call: Call = {}): Promise<any> => {
    const [method, template] = operation.split(' ');
    const status = call.status ?? 200;
    const contract = responseContract(method, template, status);
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = call.params?.[name];
      if (value === undefined) throw new Error(`no value for {${name}} in ${operation}`);
      return encodeURIComponent(value);
    });
    const res = await http(t, method, call.query ? `${path}?${call.query}` : path, call.body);
    expect(res.status, `${contract.operationId}: ${JSON.stringify(res.body)}`).toBe(status);
    expect(contract.validate(res.body), `${contract.operationId} response`).toEqual([]);
    return res.body;
  };

  /** Triggers `hello` for the recipients and runs the worker; returns the new messages, newest first. */
  const deliver = async (recipients: unknown[] = [{ id: 'ada', name: 'Ada' }], extra: Record<string, unknown> = {}) => {
    await t.knock.users.update('grace', { name: 'Grace', email: 'grace@example.com' });
    await conforms('POST /v1/workflows/{key}/trigger', {
      params: { key: 'hello' },
      body: { recipients, actor: 'grace', tenant: 'acme', data: { comment: 'Nice', thread: { id: 't1' } }, ...extra },
    });
    await t.drain();
    const list = await http(t, 'GET', '/v1/messages');
    expect(list.body.items.length).toBeGreaterThan(0);
    return list.body.items as { id: string; recipient: unknown }[];
  };

  describe('users', () => {
    it('identify, get and list return Users', async () => {
      await conforms('PUT /v1/users/{user_id}', { params: { user_id: 'ada' }, body: { name: 'Ada', email: 'ada@example.com', plan: 'pro' } });
      await conforms('PUT /v1/users/{user_id}', {
        params: { user_id: 'grace' },
        body: { name: 'Grace', phone_number: '+15555550100', avatar: 'https://example.com/g.png', timezone: 'Europe/London', created_at: '2025-01-01T00:00:00Z' },
      });
      const user = await conforms('GET /v1/users/{user_id}', { params: { user_id: 'ada' } });
      expect(user).toMatchObject({ id: 'ada', name: 'Ada', plan: 'pro' });
      const list = await conforms('GET /v1/users');
      expect(list.entries).toHaveLength(2);
      await conforms('GET /v1/users', { query: 'page_size=1' });
    });

    it('lists users with their preferences included', async () => {
      await t.knock.users.update('ada', { preferences: { default: { channel_types: { email: false }, workflows: { hello: true } } } });
      const list = await conforms('GET /v1/users', { query: 'include[]=preferences' });
      expect(list.entries[0].preferences).toBeDefined();
    });

    it('deletes a user with 204 and no body', async () => {
      await t.knock.users.update('ada', {});
      await conforms('DELETE /v1/users/{user_id}', { params: { user_id: 'ada' }, status: 204 });
    });

    it('sets, gets and unsets push channel data', async () => {
      const data = { tokens: ['tok-1'], devices: [{ token: 'tok-1', locale: 'en-GB', timezone: null }] };
      const set = await conforms('PUT /v1/users/{user_id}/channel_data/{channel_id}', { params: { user_id: 'ada', channel_id: 'in-app-feed' }, body: { data } });
      expect(set.data).toEqual(data);
      await conforms('GET /v1/users/{user_id}/channel_data/{channel_id}', { params: { user_id: 'ada', channel_id: set.channel_id } });
      await conforms('DELETE /v1/users/{user_id}/channel_data/{channel_id}', { params: { user_id: 'ada', channel_id: 'in-app-feed' }, status: 204 });
    });

    it('sets chat channel data', async () => {
      const data = { connections: [{ access_token: 'xoxb-1', channel_id: 'C1', user_id: null }, { incoming_webhook: { url: 'https://hooks.example.com/1' } }] };
      await conforms('PUT /v1/users/{user_id}/channel_data/{channel_id}', { params: { user_id: 'ada', channel_id: 'in-app-feed' }, body: { data } });
    });
  });

  describe('objects', () => {
    it('set, get and list return Objects', async () => {
      const set = await conforms('PUT /v1/objects/{collection}/{id}', { params: { collection: 'projects', id: 'apollo' }, body: { name: 'Apollo', stage: 3 } });
      expect(set.properties).toMatchObject({ name: 'Apollo', stage: 3 });
      await conforms('PUT /v1/objects/{collection}/{id}', { params: { collection: 'projects', id: 'gemini' }, body: {} });
      await conforms('GET /v1/objects/{collection}/{id}', { params: { collection: 'projects', id: 'apollo' } });
      const list = await conforms('GET /v1/objects/{collection}', { params: { collection: 'projects' } });
      expect(list.entries).toHaveLength(2);
      await conforms('GET /v1/objects/{collection}', { params: { collection: 'projects' }, query: 'page_size=1' });
    });

    it('sets and gets object channel data; deletes with 204', async () => {
      const data = { connections: [{ incoming_webhook: { url: 'https://hooks.example.com/2' } }] };
      const params = { collection: 'projects', object_id: 'apollo', channel_id: 'in-app-feed' };
      await conforms('PUT /v1/objects/{collection}/{object_id}/channel_data/{channel_id}', { params, body: { data } });
      await conforms('GET /v1/objects/{collection}/{object_id}/channel_data/{channel_id}', { params });
      await conforms('DELETE /v1/objects/{collection}/{object_id}/channel_data/{channel_id}', { params, status: 204 });
      await conforms('DELETE /v1/objects/{collection}/{id}', { params: { collection: 'projects', id: 'apollo' }, status: 204 });
    });
  });

  describe('tenants', () => {
    it('set, get and list return Tenants', async () => {
      await conforms('PUT /v1/tenants/{id}', {
        params: { id: 'acme' },
        body: {
          name: 'Acme', region: 'eu',
          settings: {
            branding: { logo_url: 'https://acme.example.com/logo.png', icon_url: 'https://acme.example.com/icon.png', primary_color: '#ff0000', primary_color_contrast: '#ffffff' },
            preference_set: { channel_types: { email: false }, workflows: { hello: { channel_types: { in_app_feed: true } } } },
          },
        },
      });
      await conforms('PUT /v1/tenants/{id}', { params: { id: 'globex' }, body: {} });
      const tenant = await conforms('GET /v1/tenants/{id}', { params: { id: 'acme' } });
      expect(tenant.settings.preference_set.id).toBe('default');
      await conforms('GET /v1/tenants/{id}', { params: { id: 'globex' } });
      const list = await conforms('GET /v1/tenants');
      expect(list.entries).toHaveLength(2);
      await conforms('DELETE /v1/tenants/{id}', { params: { id: 'globex' }, status: 204 });
    });
  });

  describe('workflows and runs', () => {
    it('trigger answers a workflow_run_id; cancel answers 204', async () => {
      await conforms('POST /v1/workflows/{key}/trigger', { params: { key: 'hello' }, body: { recipients: ['ada', { id: 'apollo', collection: 'projects' }] } });
      await conforms('POST /v1/workflows/{key}/trigger', { params: { key: 'waiting' }, body: { recipients: ['ada'], cancellation_key: 'c-1' } });
      await t.drain();
      await conforms('POST /v1/workflows/{key}/cancel', { params: { key: 'waiting' }, body: { cancellation_key: 'c-1' }, status: 204 });
    });

    it('lists and gets workflow recipient runs', async () => {
      await t.knock.users.update('grace', { name: 'Grace' });
      await t.knock.workflows.trigger('hello', { recipients: ['ada', { id: 'apollo', collection: 'projects' }], actor: 'grace', tenant: 'acme' });
      await t.knock.workflows.trigger('waiting', { recipients: ['bob'], cancellation_key: 'c-2' });
      await t.drain();
      const list = await conforms('GET /v1/workflow_recipient_runs');
      expect(list.items).toHaveLength(3);
      await conforms('GET /v1/workflow_recipient_runs', { query: 'page_size=1&status[]=completed' });
      for (const run of list.items) {
        const detail = await conforms('GET /v1/workflow_recipient_runs/{id}', { params: { id: run.id } });
        expect(detail.events.length).toBeGreaterThan(0);
      }
    });

    it('gets a run whose step failed and was retried', async () => {
      await t.knock.workflows.trigger('broken', { recipients: ['ada'] });
      for (let i = 0; i < 3; i++) {
        await t.drain();
        t.clock.advance(5 * 60_000);
      }
      const list = await conforms('GET /v1/workflow_recipient_runs', { query: 'has_errors=true' });
      expect(list.items).toHaveLength(1);
      const detail = await conforms('GET /v1/workflow_recipient_runs/{id}', { params: { id: list.items[0].id } });
      expect(detail.events.filter((e: { event: string }) => e.event === 'step_failed').map((e: { attempt: number }) => e.attempt)).toEqual([1, 2, 3]);
    });
  });

  describe('messages', () => {
    it('list, get, content and events', async () => {
      const [message] = await deliver();
      await conforms('GET /v1/messages');
      await conforms('GET /v1/messages', { query: 'page_size=1&tenant=acme' });
      await conforms('GET /v1/users/{user_id}/messages', { params: { user_id: 'ada' } });
      const got = await conforms('GET /v1/messages/{message_id}', { params: { message_id: message.id } });
      expect(got.actors).toEqual(['grace']);
      const content = await conforms('GET /v1/messages/{message_id}/content', { params: { message_id: message.id } });
      expect(content.data.blocks.length).toBeGreaterThan(0);
      const events = await conforms('GET /v1/messages/{message_id}/events', { params: { message_id: message.id } });
      expect(events.items.length).toBeGreaterThan(0);
      await conforms('GET /v1/messages/batch/content', { query: `message_ids[]=${message.id}` });
    });

    it('marks a message seen, read, interacted and archived, and undoes them', async () => {
      const [message] = await deliver();
      const params = { message_id: message.id };
      await conforms('PUT /v1/messages/{message_id}/seen', { params, body: {} });
      await conforms('PUT /v1/messages/{message_id}/read', { params, body: {} });
      await conforms('PUT /v1/messages/{message_id}/interacted', { params, body: { metadata: { button: 'ok' } } });
      const archived = await conforms('PUT /v1/messages/{message_id}/archived', { params, body: {} });
      expect(archived.engagement_statuses).toEqual(['seen', 'read', 'interacted', 'archived']);
      await conforms('DELETE /v1/messages/{message_id}/archived', { params });
      await conforms('DELETE /v1/messages/{message_id}/read', { params });
      await conforms('DELETE /v1/messages/{message_id}/seen', { params });
      // Events now include the engagement ones.
      await conforms('GET /v1/messages/{message_id}/events', { params });
    });

    it('marks messages in a batch', async () => {
      const messages = await deliver([{ id: 'ada', name: 'Ada' }, { id: 'bob', name: 'Bob' }]);
      const message_ids = messages.map((m) => m.id);
      for (const status of ['seen', 'read', 'interacted', 'archived', 'unarchived', 'unread', 'unseen']) {
        const body = await conforms(`POST /v1/messages/batch/${status}`, { body: { message_ids } });
        expect(body).toHaveLength(2);
      }
    });

    it('bulk-updates a channel’s messages', async () => {
      await deliver([{ id: 'ada', name: 'Ada' }, { id: 'bob', name: 'Bob' }]);
      for (const action of ['seen', 'read', 'archived']) {
        const op = await conforms('POST /v1/channels/{channel_id}/messages/bulk/{action}', {
          params: { channel_id: 'in-app-feed', action }, body: { recipient_ids: ['ada'] },
        });
        expect(op.success_count).toBe(1);
      }
    });
  });

  describe('feeds', () => {
    const feedItem = componentValidator('InAppFeedItem');

    it('lists a user’s feed (rich, the server default) with FeedItems', async () => {
      await t.knock.objects.set('projects', 'apollo', { name: 'Apollo' });
      await deliver();
      t.clock.advance(1000);
      await createMessage(t, { recipient: 'ada', workflow: 'hello', actors: ['grace', { id: 'apollo', collection: 'projects' }], data: { n: 1 } });
      const feed = await conforms('GET /v1/users/{user_id}/feeds/{id}', { params: { user_id: 'ada', id: 'in-app-feed' } });
      expect(feed.entries).toHaveLength(2);
      for (const entry of feed.entries) {
        // `__cursor` is not in the spec; Knock sends it and the browser client needs it.
        expect(entry.__cursor).toEqual(expect.any(String));
        expect(feedItem(entry)).toEqual([]);
      }
      expect(feed.entries[0].actors.map((a: { __typename: string }) => a.__typename)).toEqual(['User', 'Object']);
      await conforms('GET /v1/users/{user_id}/feeds/{id}', { params: { user_id: 'ada', id: 'in-app-feed' }, query: 'page_size=1&status=unread&archived=include' });
    });

    it('lists a user’s feed in compact mode, as the browser client asks for it', async () => {
      await deliver();
      const feed = await http(t, 'GET', '/v1/users/ada/feeds/in-app-feed?mode=compact');
      expect(feed.status).toBe(200);
      expect(feed.body.entries).toHaveLength(1);
      // The spec lists `activities` and `total_activities` as required, but they are rich-mode
      // fields (see the contract notes): compact entries leave them out. Everything else must hold.
      const richOnly = /required property '(activities|total_activities)'/;
      for (const entry of feed.body.entries) expect(feedItem(entry).filter((e) => !richOnly.test(e))).toEqual([]);
    });

    it('returns the feed settings', async () => {
      await conforms('GET /v1/users/{user_id}/feeds/{id}/settings', { params: { user_id: 'ada', id: 'in-app-feed' } });
    });
  });
});
