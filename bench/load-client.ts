/**
 * HTTP load generator, run as a separate process so it does not steal the server's event loop:
 * `concurrency` keep-alive loops POST the same body for `seconds` and report throughput and
 * latency percentiles as one JSON line. Used by bench/support/http-load.ts.
 */
import http from 'node:http';

const [url, key, body, concurrency, seconds] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(concurrency) });
const target = new URL(url);

function post(): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const latencies: number[] = [];
let failures = 0;
const end = performance.now() + Number(seconds) * 1000;
await Promise.all(Array.from({ length: Number(concurrency) }, async () => {
  while (performance.now() < end) {
    const t0 = performance.now();
    const status = await post();
    if (status !== 200) failures++;
    latencies.push(performance.now() - t0);
  }
}));
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
console.log(JSON.stringify({ perSec: latencies.length / Number(seconds), p50: pct(0.5), p99: pct(0.99), failures, requests: latencies.length }));
agent.destroy();
