import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defer } from './lifecycle.js';

export interface LoadResult { perSec: number; p50: number; p99: number; failures: number; requests: number }

/**
 * POSTs `body` to `url` from `connections` keep-alive connections for `seconds`, from a separate
 * process (bench/load-client.ts) so the client does not share the server's event loop.
 */
export function httpLoad(url: string, key: string, body: string, connections: number, seconds: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const client = fileURLToPath(new URL('../load-client.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', client, url, key, body, String(connections), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    defer(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`load client exited ${code}`))));
  });
}
