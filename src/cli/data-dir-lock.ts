/**
 * One process per PGlite data directory. PGlite is PostgreSQL compiled to WASM inside this
 * process: it takes no lock a second process would see, and two processes writing the same files
 * corrupt them. So the server and every `herald` command that opens the directory hold
 * `<dataDir>.lock` (holding the owner's pid); a lock left by a process that is gone is taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CliError } from './errors.js';

export class DataDirInUse extends CliError {
  constructor(readonly dataDir: string, readonly pid: number) {
    super(`the PGlite data directory ${dataDir} is in use by another Herald process (pid ${pid}); stop it first, `
      + 'or use PostgreSQL (DATABASE_URL) to run several processes');
    this.name = 'DataDirInUse';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock or throws DataDirInUse; the returned function (also run at exit) releases it. */
export function lockDataDir(dataDir: string): () => void {
  const path = `${resolve(dataDir)}.lock`;
  // The lock sits beside the data directory, whose parent (`.herald/` by default) a fresh
  // checkout does not have yet.
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) throw new DataDirInUse(resolve(dataDir), pid);
      // Left by a process that died (SIGKILL, crash): remove it and try once more.
      unlinkSync(path);
    }
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    try { unlinkSync(path); } catch { /* already gone */ }
  };
  process.once('exit', release);
  return release;
}
