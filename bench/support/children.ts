import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defer } from './lifecycle.js';
import { HERALD_NODE_FLAGS } from './node-flags.js';

/** Starts `node <Herald's node flags> --import tsx <file> ...args`, killed at exit if still running; its output goes to ours. */
export function spawnTs(file: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const path = file.startsWith('/') ? file : fileURLToPath(new URL(`../../${file}`, import.meta.url));
  const child = spawn(process.execPath, [...HERALD_NODE_FLAGS, '--import', 'tsx', path, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
  defer(() => stop(child));
  return child;
}

/** SIGTERM, then SIGKILL if it has not exited within 5 s. */
export function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => { clearTimeout(t); resolve(); });
    child.kill('SIGTERM');
  });
}

/** Rejects if the child exits before `promise` settles (a crashed worker must fail the bench, not hang it). */
export function whileAlive<T>(child: ChildProcess, promise: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`child process exited early (${code})`));
    child.once('exit', onExit);
    promise.then((v) => { child.off('exit', onExit); resolve(v); }, (e) => { child.off('exit', onExit); reject(e); });
  });
}
