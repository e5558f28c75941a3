/**
 * The SSRF guard for every outbound connection whose address comes from data: http_fetch step
 * URLs and webhook channel URLs (templates over trigger data) and chat incoming-webhook URLs
 * (recipient channel data, which a browser user may set for themselves). Without it anyone who
 * can trigger a workflow or edit their own channel data could make Herald call its own
 * database, the cloud metadata service or the private network it runs in.
 *
 * Only public unicast addresses are allowed. The classification is ipaddr.js's (a maintained
 * copy of the IANA special-purpose registries), not a hand-written list: every range it does
 * not call `unicast` is refused (loopback, private, link-local, carrier-grade NAT, unique-local,
 * multicast, reserved, benchmarking 198.18.0.0/15, documentation, AS112, ORCHID, …).
 * IPv6 forms that carry an IPv4 address are judged by what they reach:
 * - IPv4-mapped `::ffff:a.b.c.d`, IPv4-translated `::ffff:0:a.b.c.d` and the well-known NAT64
 *   prefix `64:ff9b::/96` end up at the embedded IPv4 address, so that address is classified
 *   (a public one is allowed: IPv6-only deployments reach IPv4 services through NAT64);
 * - tunnels and deprecated forms (6to4 `2002::/16`, Teredo `2001::/32`, local-use NAT64
 *   `64:ff9b:1::/48`, IPv4-compatible `::a.b.c.d`) are refused whatever they embed.
 * The names `localhost` and `*.localhost` are refused without asking DNS (RFC 6761: always loopback).
 *
 * The check runs where the connection is made, not before it: `guardedLookup` is handed to
 * `net.connect` as its `lookup`, so it resolves the host name, checks EVERY address it
 * resolved to, and the socket then connects to exactly those checked addresses. A DNS answer
 * that changes between a check and the connection (DNS rebinding) therefore cannot slip
 * through. `net.connect` skips `lookup` for IP literals, so those are checked with
 * `checkHost` before the request starts (WHATWG URL parsing has already turned `2130706433`,
 * `0x7f.1`, `0177.0.0.1` or `127.1` into `127.0.0.1`).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** How a refusal tells the operator to lift it. */
export const ALLOW_PRIVATE_HINT = 'set HERALD_OUTBOUND_ALLOW_PRIVATE_NETWORKS to allow it';

/** ipaddr.js range names as words; a range not listed reads "a special-purpose (<name>) address". */
const RANGE_WORDS: Record<string, string> = {
  unspecified: 'an unspecified ("this network")',
  broadcast: 'a broadcast',
  multicast: 'a multicast',
  // 169.254.169.254 is the metadata service of AWS, GCP and Azure.
  linkLocal: 'a link-local',
  loopback: 'a loopback',
  // 100.64.0.0/10; Alibaba Cloud's metadata service is 100.100.100.200.
  carrierGradeNat: 'a carrier-grade NAT',
  private: 'a private',
  // fc00::/7, which holds AWS's IPv6 metadata address fd00:ec2::254.
  uniqueLocal: 'a unique-local (private)',
  deprecatedSiteLocal: 'a site-local (private)',
  reserved: 'a reserved',
  benchmarking: 'a benchmarking',
};

const words = (range: string) => `${RANGE_WORDS[range] ?? `a special-purpose (${range})`} address`;

const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/** The IPv4 address in the last 32 bits of `v6`. */
function low32(v6: ipaddr.IPv6): ipaddr.IPv4 {
  const [hi, lo] = v6.parts.slice(6);
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

/** Why an embedded IPv4 address is refused, phrased after the form that carries it. */
function embedded(form: string, v4: ipaddr.IPv4): string | null {
  const inner = v4.range();
  return inner === 'unicast' ? null : `${form} address of ${v4.toString()}, ${words(inner)}`;
}

/**
 * Why `address` (an IP literal) is refused, as the words that follow "it is" (e.g. "a loopback
 * address"), or null when it is a public unicast address.
 */
export function refusal(address: string): string | null {
  if (isIP(address) === 0) return 'not an IP address';
  const ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv4') {
    const range = ip.range();
    return range === 'unicast' ? null : words(range);
  }
  const v6 = ip as ipaddr.IPv6;
  const range = v6.range();
  switch (range) {
    case 'ipv4Mapped': return embedded('an IPv4-mapped', v6.toIPv4Address());
    case 'rfc6145': return embedded('an IPv4-translated', low32(v6));
    case 'rfc6052':
      return v6.match(NAT64_WELL_KNOWN) ? embedded('a NAT64', low32(v6)) : 'a local-use NAT64 address';
    case '6to4': {
      const [, hi, lo] = v6.parts;
      return `a 6to4 tunnel address (of ${new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]).toString()})`;
    }
    case 'teredo': return 'a Teredo tunnel address';
    case 'unicast':
      // ipaddr.js calls the deprecated IPv4-compatible form (::a.b.c.d) unicast; nothing legitimate uses it.
      return v6.match(IPV4_COMPATIBLE) ? `a deprecated IPv4-compatible address (of ${low32(v6).toString()})` : null;
    default: return words(range);
  }
}

/** `localhost`, `*.localhost`, with or without the root's trailing dot, any case. */
function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.+$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/** The request was refused by the guard; never retried (the same data gives the same address). */
export class RefusedAddressError extends Error {
  readonly code = 'ERR_HERALD_REFUSED_ADDRESS';
  constructor(readonly host: string, readonly address: string, readonly reason: string) {
    super(host === address
      ? `refused to connect to ${address}: it is ${reason} (${ALLOW_PRIVATE_HINT})`
      : `refused to connect to ${host}: it resolves to ${address}, ${reason} (${ALLOW_PRIVATE_HINT})`);
    this.name = 'RefusedAddressError';
  }
}

const LOCALHOST_REASON = 'a loopback name (localhost is always loopback)';

/**
 * For a URL host: throws when it is an IP literal that is refused, or a localhost name. Other
 * names are checked by `guardedLookup` when the connection resolves them.
 */
export function checkHost(hostname: string): void {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (isIP(host) === 0) {
    if (isLocalhostName(host)) throw new RefusedAddressError(host, host, LOCALHOST_REASON);
    return;
  }
  const reason = refusal(host);
  if (reason) throw new RefusedAddressError(host, host, reason);
}

type Resolve = (hostname: string, options: LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

/**
 * A `net.connect` lookup over `resolve` (the system resolver, `dns.lookup`) that refuses the
 * whole host when ANY of its addresses is refused: a name answering one public and one private
 * address must not get a connection that Happy Eyeballs might send to either.
 */
export function createGuardedLookup(resolve: Resolve): LookupFunction {
  return (hostname, options, callback) => {
    if (isLocalhostName(hostname)) return callback(new RefusedAddressError(hostname, hostname, LOCALHOST_REASON), '', 0);
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      for (const { address } of addresses) {
        const reason = refusal(address);
        if (reason) return callback(new RefusedAddressError(hostname, address, reason), '', 0);
      }
      if (options.all) return callback(null, addresses);
      const [first] = addresses;
      return callback(null, first.address, first.family);
    });
  };
}

export const guardedLookup: LookupFunction = createGuardedLookup(dnsLookup);
