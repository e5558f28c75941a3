/**
 * Finds a Chromium for the browser tests, installing Debian's `chromium` package when it is
 * missing, so a fresh machine runs them with nothing but `npm test`. Playwright's own browser
 * download is not used: only the npm registry and Debian's packages are reachable here, and
 * Debian's build is what the project's machines run.
 *
 * A machine where Chromium cannot be installed (not Debian-like, not root, apt-get failing) gets
 * a reason instead of a path, and the browser tests are skipped with that reason.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type ChromiumLookup = { executablePath: string } | { skipReason: string };

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
/** apt-get update + install of chromium and its libraries takes 1-3 minutes here. */
const INSTALL_TIMEOUT_MS = 15 * 60_000;

const found = (): string | undefined => CANDIDATES.find((p) => existsSync(p));

async function aptInstallChromium(): Promise<string | undefined> {
  if (process.platform !== 'linux') return `no Chromium found, and apt-get (Debian's chromium package) is Linux-only here; set CHROMIUM_PATH`;
  if (!existsSync('/usr/bin/apt-get')) return 'no Chromium found and no apt-get to install it; set CHROMIUM_PATH';
  if (process.getuid?.() !== 0) return 'no Chromium found and not root, so `apt-get install chromium` cannot run; install it or set CHROMIUM_PATH';
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Wait for another apt/dpkg run to finish rather than failing on its lock.
  const lock = ['-o', 'DPkg::Lock::Timeout=300'];
  try {
    await run('apt-get', [...lock, 'update', '-qq'], { env, timeout: INSTALL_TIMEOUT_MS, maxBuffer: 64 << 20 });
    await run('apt-get', [...lock, 'install', '-y', '-qq', 'chromium'], { env, timeout: INSTALL_TIMEOUT_MS, maxBuffer: 64 << 20 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return `apt-get install chromium failed: ${(err.stderr || err.message).trim().split('\n').slice(-3).join(' | ')}`;
  }
  return undefined;
}

let lookup: Promise<ChromiumLookup> | undefined;

/** The path of a working Chromium, installing it first if needed; or why there is none. */
export function ensureChromium(): Promise<ChromiumLookup> {
  lookup ??= (async () => {
    // An explicit path that is wrong is a broken set-up, not a machine without Chromium: fail.
    const fromEnv = process.env.CHROMIUM_PATH;
    if (fromEnv) {
      if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist`);
      return { executablePath: fromEnv };
    }
    if (!found()) {
      process.stderr.write('[e2e] Chromium not found; installing Debian\'s chromium package (apt-get)…\n');
      const failure = await aptInstallChromium();
      if (failure) return { skipReason: failure };
    }
    const executablePath = found();
    if (!executablePath) return { skipReason: `apt-get installed chromium but none of ${CANDIDATES.join(', ')} exists; set CHROMIUM_PATH` };
    return { executablePath };
  })();
  return lookup;
}

/**
 * Flags for a headless Chromium on a machine with no outside network: without the background
 * networking ones it keeps trying to reach Google's hosts. (Playwright adds --no-sandbox,
 * needed as root, and --headless itself.)
 */
export const CHROMIUM_ARGS = [
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
