import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchDb } from './db.js';

/**
 * Runs `script` through pgbench (`-c clients -j 2 -T seconds -n`) in the bench's schema of its
 * database and returns the transactions per second pgbench reports.
 */
export async function pgbenchTps(bdb: BenchDb, script: string, clients: number, seconds: number, extraArgs: string[] = []): Promise<number> {
  if (!bdb.baseUrl || !bdb.schema) throw new Error('pgbench needs PostgreSQL');
  const u = new URL(bdb.baseUrl);
  const dir = mkdtempSync(join(tmpdir(), 'herald-pgbench-'));
  const file = join(dir, 'script.sql');
  writeFileSync(file, script);
  try {
    const args = ['-h', u.hostname, '-p', u.port || '5432', '-U', decodeURIComponent(u.username || 'postgres'), '-n', '-c', String(clients), '-j', '2', '-T', String(Math.max(1, Math.round(seconds))), '-f', file, ...extraArgs, u.pathname.slice(1)];
    const env = { ...process.env, PGOPTIONS: `-c search_path=${bdb.schema}`, ...(u.password ? { PGPASSWORD: decodeURIComponent(u.password) } : {}) };
    const out = await new Promise<string>((resolve, reject) => {
      execFile('pgbench', args, { env, maxBuffer: 1 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`pgbench failed: ${stderr.trim().split('\n').pop() ?? err.message}`)) : resolve(stdout)));
    });
    const m = /tps = ([\d.]+) \(without initial connection time\)/.exec(out) ?? /tps = ([\d.]+)/.exec(out);
    if (!m) throw new Error(`pgbench printed no tps: ${out.slice(-300)}`);
    return Number(m[1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
