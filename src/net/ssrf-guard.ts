/**
 * The SSRF guard for requests Herald makes on behalf of workflow authors (http_fetch steps).
 *
 * A fetch URL is a template over trigger data, so without a guard anyone who can trigger a
 * workflow could make Herald call its own database, the cloud metadata service or the
 * private network it runs in. By default every address in the ranges below is refused.
 *
 * The check runs where the connection is made, not before it: `guardedLookup` is handed to
 * `net.connect` as its `lookup`, so it resolves the host name, checks EVERY address it
 * resolved to, and the socket then connects to exactly those checked addresses. A DNS answer
 * that changes between a check and the connection (DNS rebinding) therefore cannot slip
 * through. `net.connect` skips `lookup` for IP literals, so those are checked with
 * `checkHost` before the request starts.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** Address ranges refused by default, each with the name used in the refusal reason. */
const RANGES: [label: string, cidrs: [string, number, 'ipv4' | 'ipv6'][]][] = [
  ['unspecified', [['0.0.0.0', 8, 'ipv4'], ['::', 128, 'ipv6']]],
  ['loopback', [['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']]],
  // 169.254.169.254 is the metadata service of AWS, GCP and Azure.
  ['link-local', [['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']]],
  ['private', [
    ['10.0.0.0', 8, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4'],
    // Unique local (includes AWS's IPv6 metadata address fd00:ec2::254) and the old site-local range.
    ['fc00::', 7, 'ipv6'], ['fec0::', 10, 'ipv6'],
  ]],
  // Carrier-grade NAT space; Alibaba Cloud's metadata service is 100.100.100.200.
  ['shared (carrier-grade NAT) or metadata', [['100.64.0.0', 10, 'ipv4']]],
  ['multicast or reserved', [['224.0.0.0', 4, 'ipv4'], ['240.0.0.0', 4, 'ipv4'], ['ff00::', 8, 'ipv6']]],
  // Deprecated IPv4-compatible IPv6 (::a.b.c.d). IPv4-mapped (::ffff:a.b.c.d) needs no entry:
  // BlockList checks those against the IPv4 ranges above.
  ['IPv4-compatible IPv6', [['::', 96, 'ipv6']]],
];

const LISTS = RANGES.map(([label, cidrs]) => {
  const list = new BlockList();
  for (const [network, prefix, family] of cidrs) list.addSubnet(network, prefix, family);
  return { label, list };
});

/** Why `address` (an IP literal) is refused, or null when it is a public address. */
export function refusedRange(address: string): string | null {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  // An IPv4 address is checked as IPv4-mapped IPv6, which BlockList matches against both families' rules.
  const asV6 = family === 4 ? `::ffff:${address}` : address;
  for (const { label, list } of LISTS) {
    if (list.check(asV6, 'ipv6')) return label;
  }
  return null;
}

/** The request was refused by the guard; never retried (the same template gives the same address). */
export class RefusedAddressError extends Error {
  readonly code = 'ERR_HERALD_REFUSED_ADDRESS';
  constructor(readonly host: string, readonly address: string, readonly range: string) {
    super(host === address
      ? `refused to connect to ${address}: it is a ${range} address (set fetchAllowPrivateNetworks to allow it)`
      : `refused to connect to ${host}: it resolves to ${address}, a ${range} address (set fetchAllowPrivateNetworks to allow it)`);
    this.name = 'RefusedAddressError';
  }
}

/** For a URL host: throws when it is an IP literal in a refused range. Names are checked by `guardedLookup`. */
export function checkHost(hostname: string): void {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (isIP(host) === 0) return;
  const range = refusedRange(host);
  if (range) throw new RefusedAddressError(host, host, range);
}

/** A `net.connect` lookup that refuses the whole host when ANY of its addresses is refused. */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    for (const { address } of addresses) {
      const range = refusedRange(address);
      if (range) return callback(new RefusedAddressError(hostname, address, range), '', 0);
    }
    if (options.all) return callback(null, addresses);
    const [first] = addresses;
    return callback(null, first.address, first.family);
  });
};
