/**
 * Channels and channel groups through the management API (Knock mgmt: listChannels,
 * getChannel, listChannelGroups, getChannelGroup) with the unchanged @knocklabs/mgmt client:
 * the configured channels in Knock's shape, each environment's settings with every secret
 * masked (the secrets appear in no answer's raw text), and no access with an API key.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import KnockMgmt from '@knocklabs/mgmt';
import { upsertChannelGroups } from '../../src/store/configured-channels.js';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';

const SECRETS = {
  smtpPassword: 'smtp-pw-3f9a1c7e',
  resendKey: 're_live_8d2b6e0f4a',
  twilioToken: 'twilio-auth-5c1e9b7d',
  postmarkToken: 'pm-server-2a7f3c9e',
  slackWebhook: 'https://hooks.slack.com/services/T000/B000/xoxb-hook-6e4d2a8b',
};

const channels = [
  { key: 'mail-smtp', type: 'email' as const, provider: 'smtp', name: 'Mail (SMTP)', settings: { host: '127.0.0.1', port: 2525, secure: false, user: 'mailer', password: SECRETS.smtpPassword, from: 'Herald <herald@example.com>', link_tracking: true },
    fallbacks: [{ provider: 'postmark', settings: { server_token: SECRETS.postmarkToken } }] },
  { key: 'mail-resend', type: 'email' as const, provider: 'resend', settings: { api_key: SECRETS.resendKey, from: 'herald@example.com' } },
  { key: 'sms-twilio', type: 'sms' as const, provider: 'twilio', settings: { account_sid: 'AC0001', auth_token: SECRETS.twilioToken, from: '+15550001', headers: { 'x-extra': SECRETS.twilioToken } } },
  { key: 'chat-slack', type: 'chat' as const, provider: 'slack', settings: { webhook_url: SECRETS.slackWebhook } },
];
const channelGroups = [
  { key: 'mail-any', channel_type: 'email' as const, mode: 'first' as const, channels: ['mail-smtp', 'mail-resend'] },
  { key: 'everything', mode: 'all' as const, channels: ['sms-twilio', 'chat-slack'] },
];

const run = promisify(execFile);
const KNOCK_BIN = resolve('node_modules/.bin/knock');
const LOOPBACK_ONLY = resolve('test/support/loopback-only.mjs');

/** knock-cli, unchanged, from an empty HOME, loopback only (as in mgmt-knock-cli.test.ts). */
async function knockCli(t: TestHerald, args: string[]) {
  const home = mkdtempSync(join(tmpdir(), 'herald-knock-home-'));
  try {
    const { stdout, stderr } = await run(KNOCK_BIN, [...args, '--api-origin', `${t.url}/mgmt`], {
      cwd: home, timeout: 60_000,
      env: {
        PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache'), XDG_DATA_HOME: join(home, '.local/share'),
        KNOCK_SERVICE_TOKEN: t.herald.serviceToken.token!, NODE_OPTIONS: `--import ${LOOPBACK_ONLY}`, NO_COLOR: '1', CI: '1',
      },
    });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: e.code ?? 1 };
  }
}

const grouped = {
  key: 'grouped', name: 'Grouped',
  steps: [{ ref: 'notify', type: 'channel', channel_group_key: 'feed-api', template: { markdown_body: 'Hi {{ recipient.name }}' } }],
};

const noSecretIn = (text: string) => {
  for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
  // The pieces a masked value could leak through (a prefix, the webhook's token path) are absent too.
  expect(text).not.toContain('xoxb-hook');
  expect(text).not.toContain('hooks.slack.com');
};

describe.each(engines)('channels and channel groups through the management API (%s)', (engine) => {
  let t: TestHerald;
  afterEach(async () => { await t.close(); });

  const start = async () => {
    t = await startTestHerald(engine, { channels, channelGroups, environments: ['development', 'production'], workflows: [grouped] });
    return new KnockMgmt({ serviceToken: t.herald.serviceToken.token!, baseURL: `${t.url}/mgmt`, maxRetries: 0 });
  };
  const raw = async (path: string) => {
    const res = await fetch(`${t.url}/mgmt${path}`, { headers: { authorization: `Bearer ${t.herald.serviceToken.token}` } });
    return { status: res.status, text: await res.text() };
  };

  it('lists the configured channels in Knock\'s shape, paged by key', async () => {
    const mgmt = await start();
    const page = await mgmt.channels.list();
    const keys = page.entries.map((c) => c.key);
    expect(keys).toEqual([...keys].sort());
    expect(keys).toEqual(expect.arrayContaining(['chat-slack', 'mail-resend', 'mail-smtp', 'sms-twilio', 'in-app-feed']));
    const smtp = page.entries.find((c) => c.key === 'mail-smtp')!;
    expect(smtp).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/), key: 'mail-smtp', name: 'Mail (SMTP)', type: 'email', provider: 'smtp',
      description: null, custom_icon_url: null, archived_at: null, visible_in: ['workflow'],
      created_at: expect.any(String), updated_at: expect.any(String),
    });
    expect(page.entries.find((c) => c.key === 'mail-resend')!.name).toBe('mail-resend');
    // The client's auto-pagination follows the key cursor to the end, one channel a page.
    const paged: string[] = [];
    for await (const c of mgmt.channels.list({ limit: 1 })) paged.push(c.key);
    expect(paged).toEqual(keys);
    // ?id= filters to one channel.
    const one = await mgmt.channels.list({ id: smtp.id });
    expect(one.entries.map((c) => c.key)).toEqual(['mail-smtp']);
  });

  it('gets a channel with each environment\'s settings, every secret masked', async () => {
    const mgmt = await start();
    const smtp = await mgmt.channels.retrieve('mail-smtp');
    const envs = smtp.environment_settings!;
    expect(Object.keys(envs).sort()).toEqual(['development', 'production']);
    // Each environment has its own store, so its own id for the same channel.
    expect(envs.development.id).toBe(smtp.id);
    expect(envs.production.id).not.toBe(envs.development.id);
    for (const env of Object.values(envs)) {
      expect(env).toEqual({
        id: expect.any(String), is_valid: true, is_sandbox: false, channel_settings: null,
        provider_settings: { host: '127.0.0.1', port: 2525, secure: false, user: '********', password: '********', from: 'Herald <herald@example.com>', link_tracking: true },
      });
    }
    const twilio = await mgmt.channels.retrieve('sms-twilio');
    expect(twilio.environment_settings!.production.provider_settings).toEqual({ account_sid: '********', auth_token: '********', from: '+15550001', headers: '********' });
    const slack = await mgmt.channels.retrieve('chat-slack');
    expect(slack.environment_settings!.development.provider_settings).toEqual({ webhook_url: '********' });
    // A list shows environment settings only when asked to.
    expect((await mgmt.channels.list()).entries.every((c) => c.environment_settings === undefined)).toBe(true);
    const withSettings = await mgmt.channels.list({ include: ['environment_settings'] });
    expect(withSettings.entries.find((c) => c.key === 'mail-resend')!.environment_settings!.development.provider_settings).toEqual({ api_key: '********', from: 'herald@example.com' });
  });

  it('lists and gets channel groups as always-rules over their channels', async () => {
    const mgmt = await start();
    const groups = await mgmt.channelGroups.list();
    expect(groups.entries.map((g) => g.key)).toEqual(['everything', 'mail-any']);
    const mail = await mgmt.channelGroups.retrieve('mail-any');
    expect(mail).toMatchObject({ key: 'mail-any', name: 'mail-any', channel_type: 'email', operator: 'any', source: 'system', archived_at: null });
    expect(mail.channel_rules.map((r) => [r.index, r.rule_type, r.channel.key])).toEqual([[0, 'always', 'mail-smtp'], [1, 'always', 'mail-resend']]);
    expect(mail.channel_rules[0].channel).not.toHaveProperty('environment_settings');
    // Without a configured channel_type, the group's is its first channel's.
    expect((await mgmt.channelGroups.retrieve('everything')).channel_type).toBe('sms');
    const paged: string[] = [];
    for await (const g of mgmt.channelGroups.list({ limit: 1 })) paged.push(g.key);
    expect(paged).toEqual(['everything', 'mail-any']);
    await expect(mgmt.channelGroups.retrieve('nope')).rejects.toMatchObject({ status: 404 });
    await expect(mgmt.channels.retrieve('nope')).rejects.toMatchObject({ status: 404 });
  });

  it('returns no secret in any answer\'s raw text', async () => {
    await start();
    const paths = [
      '/v1/channels', '/v1/channels?include=environment_settings', '/v1/channels?include[]=environment_settings',
      '/v1/channel_groups', '/v1/channel_groups/mail-any', '/v1/channel_groups/everything',
      ...channels.map((c) => `/v1/channels/${c.key}`),
    ];
    let withSettings = 0;
    for (const path of paths) {
      const res = await raw(path);
      expect(res.status, path).toBe(200);
      noSecretIn(res.text);
      if (res.text.includes('"provider_settings"')) withSettings++;
    }
    // The answers that carry provider settings were among those searched (the test can fail).
    expect(withSettings).toBe(2 + channels.length);
  });

  it('upserts and deletes channel groups in every environment; a run uses an upserted group', async () => {
    const mgmt = await start();
    const body = { channel_group: { name: 'Mail via API', channel_type: 'email' as const, channel_rules: [
      { channel_key: 'mail-resend', rule_type: 'always' as const, index: 1 },
      { channel_key: 'mail-smtp', rule_type: 'always' as const, index: 0 },
    ] } };
    const created = (await mgmt.channelGroups.upsert('mail-api', body)).channel_group;
    expect(created).toMatchObject({ key: 'mail-api', name: 'Mail via API', channel_type: 'email', operator: 'any', source: 'user' });
    expect(created.channel_rules.map((r) => [r.index, r.channel.key])).toEqual([[0, 'mail-smtp'], [1, 'mail-resend']]);
    expect((await mgmt.channelGroups.retrieve('mail-api')).name).toBe('Mail via API');
    // Updated in place: new name, operator and rules.
    const updated = (await mgmt.channelGroups.upsert('mail-api', { channel_group: { name: 'Resend only', channel_type: 'email', operator: 'all', channel_rules: [{ channel_key: 'mail-resend', rule_type: 'always' }] } })).channel_group;
    expect(updated).toMatchObject({ name: 'Resend only', operator: 'all', source: 'user', created_at: created.created_at });
    expect(updated.channel_rules.map((r) => r.channel.key)).toEqual(['mail-resend']);
    expect((await mgmt.channelGroups.list()).entries.map((g) => [g.key, g.source])).toEqual([['everything', 'system'], ['mail-any', 'system'], ['mail-api', 'user']]);
    // Every environment's store has it (the engine of each reads its own).
    for (const env of t.herald.environments) {
      const rows = await env.db.query<{ key: string; channel_keys: string[]; mode: string }>(`SELECT key, channel_keys, mode FROM channel_groups WHERE key = 'mail-api'`);
      expect(rows, env.slug).toEqual([{ key: 'mail-api', channel_keys: ['mail-resend'], mode: 'all' }]);
    }
    // The next start's configuration (which removes configured groups no longer listed, and
    // would configure `mail-api` itself here) neither removes nor replaces the API's group.
    await upsertChannelGroups(t.db, [...channelGroups.slice(1), { key: 'mail-api', mode: 'first', channels: ['mail-smtp'] }], new Date());
    expect((await mgmt.channelGroups.list()).entries.map((g) => g.key)).toEqual(['everything', 'mail-api']);
    expect((await mgmt.channelGroups.retrieve('mail-api')).channel_rules.map((r) => r.channel.key)).toEqual(['mail-resend']);
    await upsertChannelGroups(t.db, channelGroups, new Date());

    // Refused: conditional rules, unknown channels, another type's channel, a configured group's key, no rules.
    const refused = async (key: string, group: unknown, field: string) => {
      const res = await http(t, 'PUT', `/mgmt/v1/channel_groups/${key}`, { channel_group: group }, { authorization: `Bearer ${t.herald.serviceToken.token}` });
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(JSON.stringify(res.body)).toContain(field);
    };
    await refused('g1', { name: 'G', channel_type: 'email', channel_rules: [{ channel_key: 'mail-smtp', rule_type: 'if', variable: 'recipient.plan', operator: 'equal_to', argument: 'pro' }] }, 'rule_type');
    await refused('g2', { name: 'G', channel_type: 'email', channel_rules: [{ channel_key: 'nope', rule_type: 'always' }] }, 'channel_key');
    await refused('g3', { name: 'G', channel_type: 'email', channel_rules: [{ channel_key: 'sms-twilio', rule_type: 'always' }] }, 'channel_key');
    await refused('mail-any', { name: 'G', channel_type: 'email', channel_rules: [{ channel_key: 'mail-smtp', rule_type: 'always' }] }, 'channel_group_key');
    await refused('g4', { name: 'G', channel_type: 'email', channel_rules: [] }, 'channel_rules');
    await expect(mgmt.channelGroups.retrieve('g1')).rejects.toMatchObject({ status: 404 });
    expect((await mgmt.channelGroups.retrieve('mail-any')).source).toBe('system');

    // A workflow step naming a group written through the API sends on its channels.
    await mgmt.channelGroups.upsert('feed-api', { channel_group: { name: 'Feed', channel_type: 'in_app_feed', channel_rules: [{ channel_key: 'in-app-feed', rule_type: 'always' }] } });
    await t.knock.users.update('ada', { name: 'Ada' } as never);
    await t.knock.workflows.trigger('grouped', { recipients: ['ada'] });
    await t.drain();
    expect((await t.knock.users.listMessages('ada')).items.map((m) => m.channel?.type)).toEqual(['in_app_feed']);

    // Deleted from every environment; a configured group is not deleted, an unknown one is 404.
    await mgmt.channelGroups.delete('mail-api');
    await expect(mgmt.channelGroups.retrieve('mail-api')).rejects.toMatchObject({ status: 404 });
    for (const env of t.herald.environments) expect((await env.db.query(`SELECT 1 FROM channel_groups WHERE key = 'mail-api'`)).length, env.slug).toBe(0);
    await expect(mgmt.channelGroups.delete('mail-any')).rejects.toMatchObject({ status: 422 });
    await expect(mgmt.channelGroups.delete('mail-api')).rejects.toMatchObject({ status: 404 });
    expect((await mgmt.channelGroups.retrieve('mail-any')).channel_rules).toHaveLength(2);
  });

  it('answers knock-cli\'s `channel list`, as a table and as JSON', async () => {
    await start();
    const json = await knockCli(t, ['channel', 'list', '--json']);
    expect(json.code, json.stderr).toBe(0);
    noSecretIn(json.stdout + json.stderr);
    const parsed = JSON.parse(json.stdout) as { key: string; provider: string }[] | { entries: { key: string; provider: string }[] };
    const list = Array.isArray(parsed) ? parsed : parsed.entries;
    expect(list.map((c) => c.key)).toEqual(expect.arrayContaining(['mail-smtp', 'sms-twilio', 'chat-slack', 'mail-resend']));
    const table = await knockCli(t, ['channel', 'list']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('mail-smtp');
    expect(table.stdout).toContain('twilio');
    noSecretIn(table.stdout + table.stderr);
  }, 180_000);

  it('refuses API keys and a missing token on every channel path', async () => {
    await start();
    const calls: [string, string, unknown][] = [
      ['GET', '/mgmt/v1/channels', undefined], ['GET', '/mgmt/v1/channels/mail-smtp', undefined],
      ['GET', '/mgmt/v1/channel_groups', undefined], ['GET', '/mgmt/v1/channel_groups/mail-any', undefined],
      ['PUT', '/mgmt/v1/channel_groups/by-key', { channel_group: { name: 'G', channel_type: 'email', channel_rules: [{ channel_key: 'mail-smtp', rule_type: 'always' }] } }],
      ['DELETE', '/mgmt/v1/channel_groups/mail-any', undefined],
    ];
    for (const [method, path, body] of calls) {
      for (const key of [t.secretKey, t.publicKey, '']) {
        const res = await http(t, method, path, body, { authorization: key ? `Bearer ${key}` : '' });
        expect(res.status, `${method} ${path} with ${key.slice(0, 3) || 'no key'}`).toBe(401);
        noSecretIn(JSON.stringify(res.body ?? ''));
      }
    }
    expect(t.secretKey).toMatch(/^sk_/);
    // Nothing was written or removed by the refused calls.
    const mgmt = new KnockMgmt({ serviceToken: t.herald.serviceToken.token!, baseURL: `${t.url}/mgmt`, maxRetries: 0 });
    expect((await mgmt.channelGroups.list()).entries.map((g) => g.key)).toEqual(['everything', 'mail-any']);
  });
});
