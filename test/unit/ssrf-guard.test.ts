/**
 * The SSRF guard's address classification (ipaddr.js's special-purpose registries) and the
 * guarded outbound client: what is refused, how odd spellings of an address are caught, and
 * that a refused request never opens a connection.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHost, createGuardedLookup, refusal, RefusedAddressError } from '../../src/net/ssrf-guard.js';
import { OutboundError, sendOutbound } from '../../src/net/outbound-http.js';

describe('the SSRF guard refuses every address that is not public unicast', () => {
  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['127.255.0.9', 'a loopback address'],
    ['::1', 'a loopback address'],
    ['0.0.0.0', 'an unspecified ("this network") address'],
    ['0.1.2.3', 'an unspecified ("this network") address'],
    ['::', 'an unspecified ("this network") address'],
    ['169.254.169.254', 'a link-local address'],
    ['fe80::1', 'a link-local address'],
    ['10.0.0.1', 'a private address'],
    ['172.16.5.4', 'a private address'],
    ['172.31.255.255', 'a private address'],
    ['192.168.1.1', 'a private address'],
    ['fd00:ec2::254', 'a unique-local (private) address'],
    ['fc12::1', 'a unique-local (private) address'],
    ['fec0::1', 'a site-local (private) address'],
    ['100.64.0.1', 'a carrier-grade NAT address'],
    ['100.100.100.200', 'a carrier-grade NAT address'],
    ['198.18.0.1', 'a reserved address'],
    ['198.19.255.255', 'a reserved address'],
    ['192.0.2.1', 'a reserved address'],
    ['192.0.0.8', 'a reserved address'],
    ['203.0.113.5', 'a reserved address'],
    ['240.0.0.1', 'a reserved address'],
    ['2001:db8::1', 'a reserved address'],
    ['224.0.0.1', 'a multicast address'],
    ['ff02::1', 'a multicast address'],
    ['255.255.255.255', 'a broadcast address'],
    ['192.31.196.1', 'a special-purpose (as112) address'],
    ['2001:2::1', 'a benchmarking address'],
  ])('%s is %s', (address, reason) => {
    expect(refusal(address)).toBe(reason);
  });

  it.each([
    // IPv4-mapped and IPv4-translated addresses reach the embedded IPv4 address.
    ['::ffff:127.0.0.1', 'an IPv4-mapped address of 127.0.0.1, a loopback address'],
    ['::ffff:7f00:1', 'an IPv4-mapped address of 127.0.0.1, a loopback address'],
    ['::ffff:10.0.0.1', 'an IPv4-mapped address of 10.0.0.1, a private address'],
    ['::ffff:a9fe:a9fe', 'an IPv4-mapped address of 169.254.169.254, a link-local address'],
    ['::ffff:0:7f00:1', 'an IPv4-translated address of 127.0.0.1, a loopback address'],
    // A NAT64 gateway forwards 64:ff9b::/96 to the embedded IPv4 address.
    ['64:ff9b::7f00:1', 'a NAT64 address of 127.0.0.1, a loopback address'],
    ['64:ff9b::a9fe:a9fe', 'a NAT64 address of 169.254.169.254, a link-local address'],
    ['64:ff9b:1::a00:1', 'a local-use NAT64 address'],
    // Tunnels and the deprecated IPv4-compatible form are refused whatever they embed.
    ['2002:7f00:1::', 'a 6to4 tunnel address (of 127.0.0.1)'],
    ['2002:808:808::1', 'a 6to4 tunnel address (of 8.8.8.8)'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'a Teredo tunnel address'],
    ['::7f00:1', 'a deprecated IPv4-compatible address (of 127.0.0.1)'],
    ['::808:808', 'a deprecated IPv4-compatible address (of 8.8.8.8)'],
  ])('unwraps the IPv4 address inside %s: %s', (address, reason) => {
    expect(refusal(address)).toBe(reason);
  });

  it.each(['8.8.8.8', '93.184.216.34', '172.32.0.1', '192.169.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'])(
    '%s is public', (address) => {
      expect(refusal(address)).toBeNull();
    },
  );

  it('refuses what is not an IP address at all (a lookup answer is never trusted blindly)', () => {
    expect(refusal('example.com')).toBe('not an IP address');
  });
});

describe('URL hosts: every spelling of a refused address is caught', () => {
  // WHATWG URL parsing (what every outbound path uses) turns the odd IPv4 spellings into the
  // dotted quad, and IPv6 literals into their canonical form, before the guard sees them.
  it.each([
    ['2130706433', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['%31%32%37.0.0.1', '127.0.0.1'],
    ['１２７.０.０.１', '127.0.0.1'],
    ['a@127.0.0.1', '127.0.0.1'],
    ['0', '0.0.0.0'],
    ['[::ffff:127.0.0.1]', '[::ffff:7f00:1]'],
    ['[0:0:0:0:0:ffff:7f00:1]', '[::ffff:7f00:1]'],
    ['[::127.0.0.1]', '[::7f00:1]'],
  ])('http://%s/ has the host %s and is refused', (spelling, host) => {
    const url = new URL(`http://${spelling}:8080/`);
    expect(url.hostname).toBe(host);
    expect(() => checkHost(url.hostname)).toThrow(RefusedAddressError);
  });

  it.each(['localhost', 'LOCALHOST', 'localhost.', 'api.localhost', 'api.localhost.'])('refuses the name %s without asking DNS', (name) => {
    expect(() => checkHost(new URL(`http://${name}/`).hostname)).toThrow(/localhost is always loopback/);
  });

  it('names the address, the range and the setting that lifts the refusal', () => {
    expect(() => checkHost('[::1]')).toThrow('refused to connect to ::1: it is a loopback address (set HERALD_OUTBOUND_ALLOW_PRIVATE_NETWORKS to allow it)');
  });

  it('lets public literals and other names through (names are checked when they are resolved)', () => {
    expect(() => checkHost('93.184.216.34')).not.toThrow();
    expect(() => checkHost('[2606:4700:4700::1111]')).not.toThrow();
    expect(() => checkHost('example.com')).not.toThrow();
  });

  // What a DNS server answers, without depending on the machine's resolver.
  const answering = (...addresses: string[]) => createGuardedLookup((_name, _opts, cb) => cb(null, addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))));
  const lookUp = (lookup: ReturnType<typeof createGuardedLookup>, all: boolean) =>
    new Promise<{ err: Error | null; result: unknown }>((resolve) => lookup('internal.example', { all }, (err, result) => resolve({ err, result })));

  it('the connect-time lookup refuses a name that resolves to a refused address', async () => {
    const { err } = await lookUp(answering('10.1.2.3'), false);
    expect(err).toBeInstanceOf(RefusedAddressError);
    expect(err!.message).toBe('refused to connect to internal.example: it resolves to 10.1.2.3, a private address (set HERALD_OUTBOUND_ALLOW_PRIVATE_NETWORKS to allow it)');
  });

  it('refuses the whole name when any one of its addresses is refused', async () => {
    const { err } = await lookUp(answering('93.184.216.34', '::1'), true);
    expect(err!.message).toMatch(/it resolves to ::1, a loopback address/);
  });

  it('hands the checked public addresses to the connection', async () => {
    expect(await lookUp(answering('93.184.216.34', '2606:4700:4700::1111'), true)).toEqual({
      err: null, result: [{ address: '93.184.216.34', family: 4 }, { address: '2606:4700:4700::1111', family: 6 }],
    });
  });
});

describe('outbound requests through the guard', () => {
  let server: Server;
  let port: number;
  let hits: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/redirect') res.writeHead(302, { location: `http://127.0.0.1:${port}/target` }).end();
      else res.writeHead(200, { 'content-type': 'application/json', 'x-answer': 'yes' }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => { await new Promise((resolve) => server.close(resolve)); });

  const get = (url: string, allowPrivateNetworks = false) => sendOutbound({ method: 'GET', url: new URL(url), headers: {} }, { allowPrivateNetworks });

  it.each([
    'http://127.0.0.1:PORT/',
    'http://localhost:PORT/',
    'http://localhost.:PORT/',
    'http://[::1]:PORT/',
    'http://[::ffff:127.0.0.1]:PORT/',
    'http://[::ffff:7f00:1]:PORT/',
    'http://[64:ff9b::7f00:1]:PORT/',
    'http://[2002:7f00:1::]:PORT/',
    'http://2130706433:PORT/',
    'http://0x7f000001:PORT/',
    'http://0177.0.0.1:PORT/',
    'http://127.1:PORT/',
    'http://0.0.0.0:PORT/',
    'https://127.0.0.1:PORT/',
  ])('refuses %s without connecting', async (url) => {
    hits = [];
    const err = await get(url.replace('PORT', String(port))).catch((e) => e);
    expect(err).toBeInstanceOf(OutboundError);
    expect(err).toMatchObject({ kind: 'refused_address', retryable: false });
    expect(err.message).toMatch(/^refused to connect to /);
    expect(hits).toEqual([]);
  });

  it('connects when private networks are allowed, and returns the headers', async () => {
    hits = [];
    expect(await get(`http://localhost:${port}/`, true)).toEqual({
      status: 200, headers: expect.objectContaining({ 'content-type': 'application/json', 'x-answer': 'yes' }), body: '{}',
    });
    expect(hits).toEqual(['/']);
  });

  it('never follows a redirect: a 3xx is the answer', async () => {
    hits = [];
    const res = await get(`http://127.0.0.1:${port}/redirect`, true);
    expect(res.status).toBe(302);
    expect(hits).toEqual(['/redirect']);
  });
});
