/**
 * Chat channel steps delivered to Slack, Microsoft Teams and Discord through the durable delivery
 * job, against loopback stand-ins that check requests the way the services do: one post per
 * connection in the recipient's channel data, statuses and events, delivery logs without webhook
 * URLs or tokens, retries of rate limits after the backoff, and giving up on permanent errors.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';
import { FakeDiscord, FakeSlack, FakeTeams } from '../support/providers/chat-servers.js';

const SLACK_BOT_TOKEN = 'xoxb-1111-2222-settingsbottoken';
const SLACK_USER_TOKEN = 'xoxb-3333-4444-connectiontoken';
const DISCORD_BOT_TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.discord-bot-token-secret';

const deploy = (key: string, channelKey: string, template: Record<string, unknown> = {}) => ({
  key,
  name: key,
  steps: [{
    ref: 'chat',
    type: 'channel',
    channel_key: channelKey,
    template: { markdown_body: 'Deploy of *{{ data.service }}* finished, {{ recipient.name }}', ...template },
  }],
});

const BLOCKS = '{"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*{{ data.service }}* is live"}}]}';

describe.each(engines)('chat providers (%s)', (engine) => {
  let t: TestHerald;
  let slack: FakeSlack;
  let teams: FakeTeams;
  let discord: FakeDiscord;

  beforeEach(async () => {
    slack = await new FakeSlack().start();
    slack.allowToken(SLACK_BOT_TOKEN).allowToken(SLACK_USER_TOKEN).channel('C0DEPLOYS').channel('C0ARCHIVE', { archived: true });
    teams = await new FakeTeams().start();
    discord = await new FakeDiscord(DISCORD_BOT_TOKEN).start();
    discord.channel('1100000000000000001');
    t = await startTestHerald(engine, {
      workflows: [
        deploy('slack-deploy', 'slack'),
        deploy('slack-blocks', 'slack', { summary: '{{ data.service }} deployed', json_body: BLOCKS }),
        deploy('teams-deploy', 'teams'),
        deploy('teams-card', 'teams', { json_body: '{"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "{{ data.service }} is live", "weight": "Bolder"}]}' }),
        deploy('discord-deploy', 'discord'),
        deploy('discord-long', 'discord', { markdown_body: '{{ data.text }}' }),
      ],
      channels: [
        { key: 'slack', type: 'chat', provider: 'slack', settings: { base_url: slack.url, bot_token: SLACK_BOT_TOKEN } },
        { key: 'teams', type: 'chat', provider: 'ms_teams', settings: {} },
        { key: 'discord', type: 'chat', provider: 'discord', settings: { base_url: discord.url, bot_token: DISCORD_BOT_TOKEN } },
      ],
    });
  });
  afterEach(async () => {
    await t.close();
    await Promise.all([slack.close(), teams.close(), discord.close()]);
  });

  async function send(workflow: string, channelKey: string, user: string, channelData: Record<string, unknown> | null, data: Record<string, unknown> = { service: 'api' }) {
    await t.knock.users.update(user, { name: 'Ada' } as any);
    if (channelData) await t.knock.users.setChannelData(user, channelKey, { data: channelData as any });
    await t.knock.workflows.trigger(workflow, { recipients: [user], data });
    await t.drain();
  }

  async function onlyMessage(user: string) {
    const { items } = await t.knock.users.listMessages(user);
    expect(items).toHaveLength(1);
    return items[0];
  }

  async function eventTypes(messageId: string) {
    const { items } = await t.knock.messages.listEvents(messageId);
    return items.map((e) => e.type).reverse();
  }

  async function logsOf(messageId: string) {
    return (await t.knock.messages.listDeliveryLogs(messageId)).items;
  }

  describe('slack', () => {
    it('posts to an incoming webhook with {text} and keeps the webhook URL out of the delivery log', async () => {
      const hook = slack.webhook('#deploys');
      await send('slack-deploy', 'slack', 'ada', { connections: [{ incoming_webhook: { url: hook.url } }] });
      const message = await onlyMessage('ada');
      expect(message.status).toBe('sent');
      expect(await eventTypes(message.id)).toEqual(['message.queued', 'message.sent']);

      expect(slack.requests).toHaveLength(1);
      const req = slack.requests[0];
      expect(req.method).toBe('POST');
      expect(req.path).toBe(new URL(hook.url).pathname);
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers.authorization).toBeUndefined();
      expect(JSON.parse(req.raw)).toEqual({ text: 'Deploy of *api* finished, Ada' });
      expect(slack.posts.map((p) => p.to)).toEqual(['webhook:#deploys']);

      const logs = await logsOf(message.id);
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatchObject({ service_name: 'slack', request: { method: 'POST', body: { text: 'Deploy of *api* finished, Ada' } }, response: { status: 200, body: 'ok' } });
      expect(logs[0].request.path).toMatch(/^\/services\/T[A-Z0-9]+\/B[A-Z0-9]+\/\[REDACTED\]$/);
      expect(JSON.stringify(logs)).not.toContain(hook.secret);
      expect(JSON.stringify(logs)).not.toContain(hook.url);
    });

    it('calls chat.postMessage with the connection\'s access token and records channel:ts as the provider id', async () => {
      await send('slack-deploy', 'slack', 'bo', { connections: [{ channel_id: 'C0DEPLOYS', access_token: SLACK_USER_TOKEN }] });
      const message = await onlyMessage('bo');
      expect(message.status).toBe('sent');

      expect(slack.requests).toHaveLength(1);
      const req = slack.requests[0];
      expect(req.path).toBe('/api/chat.postMessage');
      expect(req.headers.authorization).toBe(`Bearer ${SLACK_USER_TOKEN}`);
      expect(req.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(JSON.parse(req.raw)).toEqual({ channel: 'C0DEPLOYS', text: 'Deploy of *api* finished, Ada' });

      const logs = await logsOf(message.id);
      const ts = (logs[0].response.body as { ts: string }).ts;
      expect(ts).toMatch(/^\d+\.000100$/);
      expect((message.metadata as any)?.external_id).toBe(`C0DEPLOYS:${ts}`);
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatchObject({ service_name: 'slack', request: { path: '/api/chat.postMessage', headers: { authorization: '[REDACTED]' } }, response: { status: 200, body: { ok: true, channel: 'C0DEPLOYS' } } });
      expect(JSON.stringify(logs)).not.toContain(SLACK_USER_TOKEN);
      expect(JSON.stringify(logs)).not.toContain(SLACK_BOT_TOKEN);
    });

    it('sends json_body blocks with the summary as text, to a user id with the settings bot token', async () => {
      await send('slack-blocks', 'slack', 'cy', { connections: [{ user_id: 'U0CY' }] });
      const message = await onlyMessage('cy');
      expect(message.status).toBe('sent');
      const req = slack.requests[0];
      expect(req.headers.authorization).toBe(`Bearer ${SLACK_BOT_TOKEN}`);
      expect(JSON.parse(req.raw)).toEqual({
        channel: 'U0CY',
        text: 'api deployed',
        blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*api* is live' } }],
      });
      expect(slack.posts.map((p) => p.to)).toEqual(['D0CY']);
      expect((message.metadata as any)?.external_id).toMatch(/^D0CY:\d+\.000100$/);
    });

    it('posts once to each of two connections and logs each post', async () => {
      const hook = slack.webhook('#ops');
      await send('slack-deploy', 'slack', 'di', { connections: [{ incoming_webhook: { url: hook.url } }, { channel_id: 'C0DEPLOYS' }] });
      const message = await onlyMessage('di');
      expect(message.status).toBe('sent');
      expect(slack.posts.map((p) => p.to)).toEqual(['webhook:#ops', 'C0DEPLOYS']);
      expect(slack.requests[1].headers.authorization).toBe(`Bearer ${SLACK_BOT_TOKEN}`);
      const logs = await logsOf(message.id);
      expect(logs).toHaveLength(2);
      expect(logs.map((l) => l.response.status)).toEqual([200, 200]);
      expect(logs.map((l) => l.request.path).sort()).toEqual(['/api/chat.postMessage', expect.stringMatching(/^\/services\/.*\/\[REDACTED\]$/)].sort());
      expect(JSON.stringify(logs)).not.toContain(hook.secret);
      expect(JSON.stringify(logs)).not.toContain(SLACK_BOT_TOKEN);
    });

    it('is sent when one of two connections fails for good, and the failure is logged', async () => {
      await send('slack-deploy', 'slack', 'ed', { connections: [{ channel_id: 'C0ARCHIVE' }, { channel_id: 'C0DEPLOYS' }] });
      const message = await onlyMessage('ed');
      expect(message.status).toBe('sent');
      expect(slack.posts.map((p) => p.to)).toEqual(['C0DEPLOYS']);
      const logs = await logsOf(message.id);
      expect(logs.map((l) => (l.response.body as any).error ?? 'ok').sort()).toEqual(['is_archived', 'ok']);
    });

    it('retries a rate-limited post (HTTP 429, retry-after) after the backoff, then sends', async () => {
      slack.script = [{ status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': '30' } }];
      await send('slack-deploy', 'slack', 'fay', { connections: [{ channel_id: 'C0DEPLOYS' }] });
      const message = await onlyMessage('fay');
      expect(message.status).toBe('delivery_attempted');
      expect(slack.attempts).toBe(1);

      t.clock.advance(11_000);
      await t.drain();
      expect(slack.attempts).toBe(1);
      t.clock.advance(8_000);
      await t.drain();
      expect(slack.attempts).toBe(2);
      expect(slack.posts).toHaveLength(1);
      expect((await t.knock.messages.get(message.id)).status).toBe('sent');
      expect(await eventTypes(message.id)).toEqual(['message.queued', 'message.delivery_attempted', 'message.sent']);
      expect((await logsOf(message.id)).map((l) => l.response.status).sort()).toEqual([200, 429]);
    });

    it('retries {ok: false, error: "internal_error"} answered with HTTP 200', async () => {
      slack.script = [{ status: 200, body: { ok: false, error: 'internal_error' } }];
      await send('slack-deploy', 'slack', 'gil', { connections: [{ channel_id: 'C0DEPLOYS' }] });
      expect((await onlyMessage('gil')).status).toBe('delivery_attempted');
      t.clock.advance(20_000);
      await t.drain();
      expect((await onlyMessage('gil')).status).toBe('sent');
      expect(slack.attempts).toBe(2);
    });

    it('gives up at once on channel_not_found: undelivered', async () => {
      await send('slack-deploy', 'slack', 'hal', { connections: [{ channel_id: 'C0GONE' }] });
      const message = await onlyMessage('hal');
      expect(message.status).toBe('undelivered');
      expect(await eventTypes(message.id)).toEqual(['message.queued', 'message.undelivered']);
      t.clock.advance(60 * 60_000);
      await t.drain();
      expect(slack.attempts).toBe(1);
      const logs = await logsOf(message.id);
      expect(logs.map((l) => l.response.body)).toEqual([{ ok: false, error: 'channel_not_found' }]);
    });

    it('gives up on a token Slack rejects (invalid_auth)', async () => {
      await send('slack-deploy', 'slack', 'ivy', { connections: [{ channel_id: 'C0DEPLOYS', access_token: 'xoxb-revoked-token' }] });
      const message = await onlyMessage('ivy');
      expect(message.status).toBe('undelivered');
      expect(slack.posts).toHaveLength(0);
      const logs = await logsOf(message.id);
      expect(logs.map((l) => l.response.body)).toEqual([{ ok: false, error: 'invalid_auth' }]);
      expect(JSON.stringify(logs)).not.toContain('xoxb-revoked-token');
    });

    it('gives up on a webhook whose secret is wrong (403 invalid_token)', async () => {
      const hook = slack.webhook('#deploys');
      const wrong = hook.url.replace(hook.secret, 'x'.repeat(24));
      await send('slack-deploy', 'slack', 'jo', { connections: [{ incoming_webhook: { url: wrong } }] });
      const message = await onlyMessage('jo');
      expect(message.status).toBe('undelivered');
      expect((await logsOf(message.id)).map((l) => [l.response.status, l.response.body])).toEqual([[403, 'invalid_token']]);
    });

    it('skips the step when the recipient has no connections for the channel', async () => {
      await send('slack-deploy', 'slack', 'kim', null);
      expect((await t.knock.users.listMessages('kim')).items).toEqual([]);
      const [run] = (await t.knock.workflowRecipientRuns.list({ workflow: 'slack-deploy' })).items;
      const detail = await t.knock.workflowRecipientRuns.get(run.id);
      const skipped = detail.events.filter((e) => e.event === 'step_skipped');
      expect(skipped.map((e) => [e.step_ref, (e.data as any).reason])).toEqual([['chat', 'recipient has no chat connections in its channel data for this channel']]);
      expect(slack.attempts).toBe(0);
    });
  });

  describe('microsoft teams', () => {
    it('posts an Adaptive Card message to the incoming webhook and keeps its URL out of the log', async () => {
      const hook = teams.webhook('General');
      await send('teams-deploy', 'teams', 'ada', { connections: [{ incoming_webhook: { url: hook.url } }] });
      const message = await onlyMessage('ada');
      expect(message.status).toBe('sent');
      expect(await eventTypes(message.id)).toEqual(['message.queued', 'message.sent']);

      expect(teams.requests).toHaveLength(1);
      const req = teams.requests[0];
      expect(req.path).toBe(new URL(hook.url).pathname);
      expect(req.headers['content-type']).toBe('application/json');
      expect(JSON.parse(req.raw)).toEqual({
        type: 'message',
        attachments: [{
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            type: 'AdaptiveCard',
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            version: '1.4',
            body: [{ type: 'TextBlock', text: 'Deploy of *api* finished, Ada', wrap: true }],
          },
        }],
      });
      expect(teams.posts.map((p) => p.channel)).toEqual(['General']);

      const logs = await logsOf(message.id);
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatchObject({ service_name: 'ms_teams', response: { status: 200, body: '1' } });
      expect(JSON.stringify(logs)).not.toContain(hook.secret);
      expect(JSON.stringify(logs)).not.toContain(new URL(hook.url).pathname);
    });

    it('sends a json_body Adaptive Card as the card content', async () => {
      const hook = teams.webhook('General');
      await send('teams-card', 'teams', 'bo', { connections: [{ incoming_webhook: { url: hook.url } }] });
      expect((await onlyMessage('bo')).status).toBe('sent');
      const body = JSON.parse(teams.requests[0].raw);
      expect(body.attachments[0].content).toEqual({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'api is live', weight: 'Bolder' }] });
    });

    it('posts to each of two webhooks', async () => {
      const a = teams.webhook('General');
      const b = teams.webhook('Ops');
      await send('teams-deploy', 'teams', 'cy', { connections: [{ incoming_webhook: { url: a.url } }, { incoming_webhook: { url: b.url } }] });
      const message = await onlyMessage('cy');
      expect(message.status).toBe('sent');
      expect(teams.posts.map((p) => p.channel)).toEqual(['General', 'Ops']);
      const logs = await logsOf(message.id);
      expect(logs).toHaveLength(2);
      expect(JSON.stringify(logs)).not.toContain(a.secret);
      expect(JSON.stringify(logs)).not.toContain(b.secret);
    });

    it('retries a 429 after the backoff, then sends', async () => {
      const hook = teams.webhook('General');
      teams.script = [{ status: 429, body: 'Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0.' }];
      await send('teams-deploy', 'teams', 'di', { connections: [{ incoming_webhook: { url: hook.url } }] });
      const message = await onlyMessage('di');
      expect(message.status).toBe('delivery_attempted');
      t.clock.advance(20_000);
      await t.drain();
      expect((await t.knock.messages.get(message.id)).status).toBe('sent');
      expect(teams.attempts).toBe(2);
      expect(teams.posts).toHaveLength(1);
    });

    it('treats a 200 "Webhook message delivery failed … HTTP error 429" as a retryable failure', async () => {
      const hook = teams.webhook('General');
      teams.script = [{ status: 200, body: 'Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0,server=msgapi-production-eus-azsc2-4-170,cv=deadbeef.0.' }];
      await send('teams-deploy', 'teams', 'ed', { connections: [{ incoming_webhook: { url: hook.url } }] });
      expect((await onlyMessage('ed')).status).toBe('delivery_attempted');
      t.clock.advance(20_000);
      await t.drain();
      expect((await onlyMessage('ed')).status).toBe('sent');
    });

    it('gives up on a removed webhook (404): undelivered', async () => {
      const hook = teams.webhook('General');
      const removed = hook.url.replace(hook.secret, '0'.repeat(32));
      await send('teams-deploy', 'teams', 'fay', { connections: [{ incoming_webhook: { url: removed } }] });
      const message = await onlyMessage('fay');
      expect(message.status).toBe('undelivered');
      expect(await eventTypes(message.id)).toEqual(['message.queued', 'message.undelivered']);
      expect((await logsOf(message.id)).map((l) => l.response.status)).toEqual([404]);
    });

    it('fails a Bot Framework connection for good with a clear reason', async () => {
      await send('teams-deploy', 'teams', 'gil', { connections: [{ ms_teams_tenant_id: 'tenant-1', ms_teams_team_id: 'team-1', ms_teams_channel_id: '19:abc@thread.tacv2' }] });
      const message = await onlyMessage('gil');
      expect(message.status).toBe('undelivered');
      expect(teams.attempts).toBe(0);
      const logs = await logsOf(message.id);
      expect(logs).toHaveLength(1);
      expect(String(logs[0].response.body)).toMatch(/Bot Framework connections .* not supported/);
    });
  });

  describe('discord', () => {
    it('executes the webhook with wait=true and records the message id', async () => {
      const hook = discord.webhook('1100000000000000009');
      await send('discord-deploy', 'discord', 'ada', { connections: [{ incoming_webhook: { url: hook.url } }] });
      const message = await onlyMessage('ada');
      expect(message.status).toBe('sent');
      expect(await eventTypes(message.id)).toEqual(['message.queued', 'message.sent']);

      expect(discord.requests).toHaveLength(1);
      const req = discord.requests[0];
      expect(req.path).toBe(`${new URL(hook.url).pathname}?wait=true`);
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers.authorization).toBeUndefined();
      expect(JSON.parse(req.raw)).toEqual({ content: 'Deploy of *api* finished, Ada' });
      expect((message.metadata as any)?.external_id).toBe(discord.posts[0].id);

      const logs = await logsOf(message.id);
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatchObject({ service_name: 'discord', request: { query: 'wait=true' }, response: { status: 200, body: { id: discord.posts[0].id } } });
      expect(JSON.stringify(logs)).not.toContain(hook.secret);
    });

    it('posts to a channel with the bot token and a nonce, cutting content to 2,000 characters', async () => {
      await send('discord-long', 'discord', 'bo', { connections: [{ channel_id: '1100000000000000001' }] }, { text: 'x'.repeat(2500) });
      const message = await onlyMessage('bo');
      expect(message.status).toBe('sent');
      const req = discord.requests[0];
      expect(req.path).toBe('/api/v10/channels/1100000000000000001/messages');
      expect(req.headers.authorization).toBe(`Bot ${DISCORD_BOT_TOKEN}`);
      const body = JSON.parse(req.raw);
      expect(Object.keys(body).sort()).toEqual(['content', 'enforce_nonce', 'nonce']);
      expect(body.content).toBe(`${'x'.repeat(1999)}…`);
      expect(body.enforce_nonce).toBe(true);
      expect(body.nonce).toMatch(/^[A-Za-z0-9_-]{25}$/);
      const logs = await logsOf(message.id);
      expect(logs[0].request.headers).toMatchObject({ authorization: '[REDACTED]' });
      expect(JSON.stringify(logs)).not.toContain(DISCORD_BOT_TOKEN);
    });

    it('posts to a webhook and a channel: two posts, two logs', async () => {
      const hook = discord.webhook('1100000000000000009');
      await send('discord-deploy', 'discord', 'cy', { connections: [{ incoming_webhook: { url: hook.url } }, { channel_id: '1100000000000000001' }] });
      const message = await onlyMessage('cy');
      expect(message.status).toBe('sent');
      expect(discord.posts.map((p) => p.channel)).toEqual(['1100000000000000009', '1100000000000000001']);
      expect(await logsOf(message.id)).toHaveLength(2);
    });

    it('retries a 429 (retry_after) after the backoff; the nonce is the same on the retry', async () => {
      discord.script = [{ status: 429, body: { message: 'You are being rate limited.', retry_after: 1.5, global: false }, headers: { 'retry-after': '2' } }];
      await send('discord-deploy', 'discord', 'di', { connections: [{ channel_id: '1100000000000000001' }] });
      const message = await onlyMessage('di');
      expect(message.status).toBe('delivery_attempted');
      t.clock.advance(20_000);
      await t.drain();
      expect((await t.knock.messages.get(message.id)).status).toBe('sent');
      expect(discord.attempts).toBe(2);
      const [first, second] = discord.requests.map((r) => JSON.parse(r.raw).nonce);
      expect(second).toBe(first);
      expect(discord.posts).toHaveLength(1);
    });

    it('gives up on an unknown webhook (404, code 10015): undelivered', async () => {
      const hook = discord.webhook('1100000000000000009');
      const deleted = hook.url.replace(/\/webhooks\/\d+\//, '/webhooks/999999999999999999/');
      await send('discord-deploy', 'discord', 'ed', { connections: [{ incoming_webhook: { url: deleted } }] });
      const message = await onlyMessage('ed');
      expect(message.status).toBe('undelivered');
      expect(await eventTypes(message.id)).toEqual(['message.queued', 'message.undelivered']);
      expect((await logsOf(message.id)).map((l) => [l.response.status, l.response.body])).toEqual([[404, { message: 'Unknown Webhook', code: 10015 }]]);
      t.clock.advance(60 * 60_000);
      await t.drain();
      expect(discord.attempts).toBe(1);
    });
  });
});
