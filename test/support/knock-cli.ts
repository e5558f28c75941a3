/**
 * Runs the real knock-cli binary (@knocklabs/cli, unchanged) against a Herald on loopback: its
 * service token from KNOCK_SERVICE_TOKEN, `--api-origin <origin>` (Herald's `/mgmt`), an empty
 * HOME of its own (no user config), and a preload that refuses and reports any connection or DNS
 * lookup beyond loopback (loopback-only.mjs) — knock-cli must work with no outside network.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const KNOCK_BIN = resolve('node_modules/.bin/knock');
const LOOPBACK_ONLY = resolve('test/support/loopback-only.mjs');

export interface KnockCliResult { stdout: string; stderr: string; code: number }

export interface KnockCliOptions {
  /** The working directory and HOME (a fresh temporary directory per test). */
  home: string;
  token: string;
  /** The API origin (`<herald>/mgmt`); null = knock-cli's own default (nothing is added). */
  origin: string | null;
  timeoutMs?: number;
}

/** `knock <args>`: its output and exit code (a non-zero exit is an answer, not a throw). */
export async function knockCli(args: string[], opts: KnockCliOptions): Promise<KnockCliResult> {
  try {
    const { stdout, stderr } = await run(KNOCK_BIN, opts.origin === null ? args : [...args, '--api-origin', opts.origin], {
      cwd: opts.home,
      timeout: opts.timeoutMs ?? 120_000,
      env: {
        PATH: process.env.PATH,
        HOME: opts.home,
        XDG_CONFIG_HOME: join(opts.home, '.config'),
        XDG_CACHE_HOME: join(opts.home, '.cache'),
        XDG_DATA_HOME: join(opts.home, '.local/share'),
        KNOCK_SERVICE_TOKEN: opts.token,
        NODE_OPTIONS: `--import ${LOOPBACK_ONLY}`,
        NO_COLOR: '1',
        CI: '1',
      },
    });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : 1 };
  }
}
