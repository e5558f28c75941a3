/**
 * Preloaded into a child process (NODE_OPTIONS=--import) to prove it makes no outside network
 * call: any TCP connection or DNS lookup for something other than loopback is refused and
 * reported on stderr as "OUTSIDE NETWORK: <host>", which the test then looks for.
 */
import net from 'node:net';
import dns from 'node:dns';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;
const report = (host) => process.stderr.write(`OUTSIDE NETWORK: ${host}\n`);

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function patchedConnect(...args) {
  const opts = typeof args[0] === 'object' && args[0] !== null ? (Array.isArray(args[0]) ? args[0][0] : args[0]) : { port: args[0], host: args[1] };
  // A Unix socket path (no host) is local; Node's own default host is localhost.
  const host = opts && (opts.host ?? 'localhost');
  if (host && !LOOPBACK.test(String(host))) {
    report(host);
    process.nextTick(() => this.destroy(new Error(`outside network refused: ${host}`)));
    return this;
  }
  return connect.apply(this, args);
};

const lookup = dns.lookup;
dns.lookup = function patchedLookup(hostname, ...rest) {
  if (!LOOPBACK.test(String(hostname))) {
    report(hostname);
    const cb = rest[rest.length - 1];
    const err = Object.assign(new Error(`outside network refused: ${hostname}`), { code: 'ENOTFOUND' });
    if (typeof cb === 'function') process.nextTick(() => cb(err));
    return undefined;
  }
  return lookup.call(this, hostname, ...rest);
};
