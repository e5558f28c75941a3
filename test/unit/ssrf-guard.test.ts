import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHost, guardedLookup, refusedRange, RefusedAddressError } from '../../src/net/ssrf-guard.js';
import { OutboundError, sendOutbound } from '../../src/net/outbound-http.js';

describe('the SSRF guard refuses internal addresses', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['fd00:ec2::254', 'private'],
    ['fc12::1', 'private'],
    ['100.100.100.200', 'shared (carrier-grade NAT) or metadata'],
    ['224.0.0.1', 'multicast or reserved'],
    ['255.255.255.255', 'multicast or reserved'],
  ])('%s is %s', (address, range) => {
    expect(refusedRange(address)).toBe(range);
  });

  it.each(['8.8.8.8', '93.184.216.34', '172.32.0.1', '192.169.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('%s is public', (address) => {
    expect(refusedRange(address)).toBeNull();
  });

  it('checks IP-literal URL hosts (which never reach a DNS lookup), bracketed IPv6 included', () => {
    expect(() => checkHost('169.254.169.254')).toThrow(RefusedAddressError);
    expect(() => checkHost('[::1]')).toThrow(/loopback/);
    expect(() => checkHost('93.184.216.34')).not.toThrow();
    expect(() => checkHost('example.com')).not.toThrow();
  });

  it('the connect-time lookup refuses a name that resolves to a refused address', async () => {
    const err = await new Promise<Error | null>((resolve) => guardedLookup('localhost', { all: true }, (e) => resolve(e)));
    expect(err).toBeInstanceOf(RefusedAddressError);
    expect(err!.message).toMatch(/localhost.*loopback/);
  });
});

describe('outbound requests through the guard', () => {
  let server: Server;
  let port: number;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => { hits++; res.end('{}'); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => { await new Promise((resolve) => server.close(resolve)); });

  const get = (url: string, allowPrivateNetworks = false) => sendOutbound({ method: 'GET', url: new URL(url), headers: {} }, { allowPrivateNetworks });

  it.each([
    ['an IP literal', (p: number) => `http://127.0.0.1:${p}/`],
    ['a name resolving to loopback', (p: number) => `http://localhost:${p}/`],
    ['an IPv4-mapped IPv6 literal', (p: number) => `http://[::ffff:127.0.0.1]:${p}/`],
    ['a decimal IPv4 literal', (p: number) => `http://2130706433:${p}/`],
    ['0.0.0.0 (which Linux routes to localhost)', (p: number) => `http://0.0.0.0:${p}/`],
  ])('refuses %s without connecting', async (_what, url) => {
    const before = hits;
    const err = await get(url(port)).catch((e) => e);
    expect(err).toBeInstanceOf(OutboundError);
    expect(err).toMatchObject({ kind: 'refused_address', retryable: false });
    expect(hits).toBe(before);
  });

  it('connects when private networks are allowed', async () => {
    const before = hits;
    expect(await get(`http://localhost:${port}/`, true)).toEqual({ status: 200, body: '{}' });
    expect(hits).toBe(before + 1);
  });
});
