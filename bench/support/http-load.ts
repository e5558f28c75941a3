import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defer } from './lifecycle.js';

/**
 * Rate limits for a Herald under this load: the limiter runs and counts every request (its cost
 * is part of a request's) but refuses none; at ~9,500 triggers/s the default 10,000/s per key
 * answered the last requests of some one-second windows with 429.
 */
export const BENCH_RATE_LIMITS = { perKey: 1_000_000, perUser: 200 };

export interface LoadResult {
  perSec: number; p50: number; p99: number; failures: number; requests: number;
  /** Which load generator ran: `wrk` when it is installed, else the Node client. */
  client: 'wrk' | 'node';
}

/**
 * wrk (a C load generator, as the issue's own measurements used) when it is on PATH and
 * HERALD_BENCH_LOAD is not `node`: it costs the 2-core machine a fraction of what a Node client
 * does, like pgbench on the baseline's side. Otherwise bench/load-client.ts.
 */
function wrkAvailable(): boolean {
  if (process.env.HERALD_BENCH_LOAD === 'node') return false;
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // wrk --version exits 1 after printing its version; only a missing binary throws ENOENT.
    return (err as { code?: string }).code !== 'ENOENT';
  }
}

/**
 * POSTs `body` to `url` from `connections` keep-alive connections for `seconds`, from a separate
 * process so the client does not share the server's event loop. Failures: any answer other than
 * 200 with the Node client; error answers (4xx, 5xx) and socket errors with wrk.
 */
export function httpLoad(url: string, key: string, body: string, connections: number, seconds: number): Promise<LoadResult> {
  return wrkAvailable() ? wrkLoad(url, key, body, connections, seconds) : nodeLoad(url, key, body, connections, seconds);
}

/** Lua long-bracket string: no escaping needed as long as the level does not occur in `s`. */
function luaString(s: string): string {
  let level = '';
  while (s.includes(`]${level}]`)) level += '=';
  return `[${level}[${s}]${level}]`;
}

async function wrkLoad(url: string, key: string, body: string, connections: number, seconds: number): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-wrk-'));
  const script = join(dir, 'post.lua');
  // Failures: wrk's own status count (answers > 399) and socket errors. A `response` callback
  // could count every non-200, but it makes wrk hand each answer to Lua; a trigger answers 200 or an error.
  writeFileSync(script, `
wrk.method = "POST"
wrk.body = ${luaString(body)}
wrk.headers["Authorization"] = ${luaString(`Bearer ${key}`)}
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  io.write(string.format('RESULT {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"status":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
`);
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile('wrk', ['-t1', `-c${connections}`, `-d${Math.max(1, Math.round(seconds))}s`, '--timeout', '10s', '-s', script, url],
        { maxBuffer: 1 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`wrk failed: ${stderr || err.message}`)) : resolve(stdout)));
      defer(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    });
    const line = out.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) throw new Error(`wrk printed no result: ${out.slice(-300)}`);
    const r = JSON.parse(line.slice('RESULT '.length)) as { requests: number; durationUs: number; p50Us: number; p99Us: number; status: number; errors: number };
    return { perSec: r.requests / (r.durationUs / 1e6), p50: r.p50Us / 1000, p99: r.p99Us / 1000, failures: r.status + r.errors, requests: r.requests, client: 'wrk' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function nodeLoad(url: string, key: string, body: string, connections: number, seconds: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const client = fileURLToPath(new URL('../load-client.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', client, url, key, body, String(connections), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    defer(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve({ ...JSON.parse(out.trim().split('\n').pop()!), client: 'node' }) : reject(new Error(`load client exited ${code}`))));
  });
}
