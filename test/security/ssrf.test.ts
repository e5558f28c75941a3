/**
 * SSRF attack matrix: every outbound path whose address comes from data × every way of naming
 * an internal address. The paths are an http_fetch step and a webhook channel (URL templated
 * from the recipient), and Slack, Microsoft Teams and Discord incoming webhooks (URL in the
 * recipient's channel data, which a browser user may set for themselves). Herald runs with its
 * default policy (private networks NOT allowed). A real listener on loopback — IPv4 and IPv6,
 * on the port every target URL names — must see zero connections, and each attempt must be
 * refused permanently with the reason recorded where an operator looks: the run's
 * `run_halted` event for http_fetch, the message's delivery log for channels.
 *
 * A positive control shows the listener does receive what is not refused: with private networks
 * allowed, the same Slack post reaches it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';
import { runDetail, runsOf } from '../support/runs.js';

/** Host spellings (the port is the listener's) and the words the refusal must contain. */
const TARGETS: [host: string, refusedBecause: string][] = [
  ['127.0.0.1', '127.0.0.1: it is a loopback address'],
  ['localhost', 'localhost: it is a loopback name'],
  ['localhost.', 'localhost.: it is a loopback name'],
  ['[::1]', '::1: it is a loopback address'],
  ['2130706433', '127.0.0.1: it is a loopback address'],
  ['0x7f000001', '127.0.0.1: it is a loopback address'],
  ['0177.0.0.1', '127.0.0.1: it is a loopback address'],
  ['0x7f.1', '127.0.0.1: it is a loopback address'],
  ['127.1', '127.0.0.1: it is a loopback address'],
  ['127.0.0.1.', '127.0.0.1: it is a loopback address'],
  ['[::ffff:127.0.0.1]', '::ffff:7f00:1: it is an IPv4-mapped address of 127.0.0.1, a loopback address'],
  ['[::ffff:7f00:1]', '::ffff:7f00:1: it is an IPv4-mapped address of 127.0.0.1, a loopback address'],
  ['[::127.0.0.1]', '::7f00:1: it is a deprecated IPv4-compatible address (of 127.0.0.1)'],
  ['[64:ff9b::7f00:1]', '64:ff9b::7f00:1: it is a NAT64 address of 127.0.0.1, a loopback address'],
  ['[2002:7f00:1::]', '2002:7f00:1::: it is a 6to4 tunnel address (of 127.0.0.1)'],
  ['0.0.0.0', '0.0.0.0: it is an unspecified ("this network") address'],
  ['[::]', '::: it is an unspecified ("this network") address'],
  ['169.254.169.254', '169.254.169.254: it is a link-local address'],
  ['[fd00:ec2::254]', 'fd00:ec2::254: it is a unique-local (private) address'],
  ['100.100.100.200', '100.100.100.200: it is a carrier-grade NAT address'],
  ['10.0.0.1', '10.0.0.1: it is a private address'],
  ['172.16.0.1', '172.16.0.1: it is a private address'],
  ['192.168.1.1', '192.168.1.1: it is a private address'],
  ['100.64.0.1', '100.64.0.1: it is a carrier-grade NAT address'],
  ['198.18.0.1', '198.18.0.1: it is a reserved address'],
];

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

type PathName = 'http_fetch step' | 'webhook channel' | 'Slack incoming webhook' | 'Teams incoming webhook' | 'Discord incoming webhook';
const CHAT: [PathName, string][] = [['Slack incoming webhook', 'slack'], ['Teams incoming webhook', 'teams'], ['Discord incoming webhook', 'discord']];
const PATHS: PathName[] = ['http_fetch step', 'webhook channel', ...CHAT.map(([name]) => name)];

const chatStep = (channel: string) => ({ ref: 'chat', type: 'channel', channel_key: channel, template: { markdown_body: 'Deploy finished' } });
const workflows = [
  { key: 'fetch-probe', name: 'Fetch probe', steps: [{ ref: 'fetch', type: 'http_fetch', settings: { url: '{{ recipient.probe_url }}' } }] },
  { key: 'hook-probe', name: 'Webhook probe', steps: [{ ref: 'hook', type: 'channel', channel_key: 'hooks', template: { url: '{{ recipient.probe_url }}' } }] },
  ...CHAT.map(([, channel]) => ({ key: `${channel}-probe`, name: channel, steps: [chatStep(channel)] })),
];
const channels = [
  { key: 'hooks', type: 'http', provider: 'webhook', settings: {} },
  { key: 'slack', type: 'chat', provider: 'slack', settings: {} },
  { key: 'teams', type: 'chat', provider: 'ms_teams', settings: {} },
  { key: 'discord', type: 'chat', provider: 'discord', settings: {} },
] as const;

/** A listener on 127.0.0.1 and ::1, one port: counts every TCP connection, whatever it carries. */
async function startLoopbackListener() {
  const connections: string[] = [];
  const servers: Server[] = [];
  let port = 0;
  for (const host of ['127.0.0.1', '::1']) {
    const server = createServer((_req, res) => res.end('{"internal": "secret answer"}'));
    server.on('connection', (socket) => connections.push(`${socket.localAddress}:${socket.localPort}`));
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
    port = (server.address() as AddressInfo).port;
    servers.push(server);
  }
  return {
    port,
    connections,
    close: () => Promise.all(servers.map((s) => { s.closeAllConnections(); return new Promise((resolve) => s.close(resolve)); })),
  };
}

describe.each(engines)('SSRF: no outbound path reaches an internal address (%s)', (engine) => {
  let t: TestHerald;
  let listener: Awaited<ReturnType<typeof startLoopbackListener>>;
  /** What each (path, target) attempt left behind: the recorded reason and where it was found. */
  const outcomes = new Map<string, { refused: boolean; reason: string }>();
  const key = (path: PathName, host: string) => `${path} → ${host}`;
  const user = (path: PathName, index: number) => `${path.split(' ')[0].toLowerCase()}-${index}`;

  beforeAll(async () => {
    listener = await startLoopbackListener();
    t = await startTestHerald(engine, { workflows, channels, outbound: { allowPrivateNetworks: false } });
    const urlOf = (host: string, path: PathName) => `http://${host}:${listener.port}/${encodeURIComponent(path)}`;

    // The URL comes from the recipient: a property for templated URLs, channel data for chat.
    const templated: [PathName, string][] = [['http_fetch step', 'fetch-probe'], ['webhook channel', 'hook-probe']];
    for (const [path, workflow] of templated) {
      const recipients = TARGETS.map(([host], i) => ({ id: user(path, i), probe_url: urlOf(host, path) }));
      await t.knock.workflows.trigger(workflow, { recipients });
    }
    for (const [path, channel] of CHAT) {
      for (const [i, [host]] of TARGETS.entries()) {
        await t.knock.users.setChannelData(user(path, i), channel, { data: { connections: [{ incoming_webhook: { url: urlOf(host, path) } }] } as any });
      }
      await t.knock.workflows.trigger(`${channel}-probe`, { recipients: TARGETS.map((_, i) => user(path, i)) });
    }
    await t.drain();

    for (const run of await runsOf(t, 'fetch-probe')) {
      const detail = await runDetail(t, run.id);
      const halted = detail.events.find((e) => e.event === 'run_halted');
      const index = Number(String((run.recipient as { id?: string }).id ?? run.recipient).split('-')[1]);
      outcomes.set(key('http_fetch step', TARGETS[index][0]), { refused: halted?.status === 'error', reason: String(halted?.data?.reason ?? '') });
    }
    for (const path of PATHS.slice(1)) {
      for (const [i, [host]] of TARGETS.entries()) {
        const { items } = await t.knock.users.listMessages(user(path, i));
        const logs = items[0] ? (await t.knock.messages.listDeliveryLogs(items[0].id)).items : [];
        outcomes.set(key(path, host), {
          refused: items.length === 1 && items[0].status === 'undelivered' && logs.length === 1,
          reason: logs.map((l) => String(l.response.body)).join(' | '),
        });
      }
    }
  }, 180_000);

  afterAll(async () => {
    await t?.close();
    await listener?.close();
  });

  const cases = PATHS.flatMap((path) => TARGETS.map(([host, because]) => [path, host, because] as const));

  it.each(cases)('%s to %s is refused for good, with the reason recorded', (path, host, because) => {
    const outcome = outcomes.get(key(path, host));
    expect(outcome).toEqual({
      refused: true,
      reason: expect.stringMatching(new RegExp(`refused to connect to ${escape(because)}.*set HERALD_OUTBOUND_ALLOW_PRIVATE_NETWORKS to allow it`)),
    });
  });

  it('the loopback listener saw zero connections', () => {
    expect(listener.connections).toEqual([]);
  });
});

describe.each(engines)('SSRF positive control: an allowed private network is reached (%s)', (engine) => {
  it('with HERALD_OUTBOUND_ALLOW_PRIVATE_NETWORKS the same Slack post reaches the listener', async () => {
    const listener = await startLoopbackListener();
    const t = await startTestHerald(engine, { workflows, channels, outbound: { allowPrivateNetworks: true } });
    try {
      await t.knock.users.setChannelData('ctl', 'slack', { data: { connections: [{ incoming_webhook: { url: `http://127.0.0.1:${listener.port}/hook` } }] } as any });
      await t.knock.workflows.trigger('slack-probe', { recipients: ['ctl'] });
      await t.drain();
      expect(listener.connections).toHaveLength(1);
      const { items } = await t.knock.users.listMessages('ctl');
      expect(items.map((m) => m.status)).toEqual(['sent']);
    } finally {
      await t.close();
      await listener.close();
    }
  });
});
