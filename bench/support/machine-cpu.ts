import { readFileSync } from 'node:fs';

/**
 * CPU time the whole machine spent busy (every process: Node, its render processes, PostgreSQL),
 * in seconds, from /proc/stat; null where there is none. Two readings around a measured window
 * give the CPU a figure cost, which on a shared 2-core machine varies far less between runs than
 * its wall time does.
 */
export function machineBusySeconds(): number | null {
  let line: string;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  } catch {
    return null;
  }
  // cpu user nice system idle iowait irq softirq steal ...: busy is all but idle, iowait and steal.
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = ticks.reduce((a, b) => a + b, 0) - (ticks[3] ?? 0) - (ticks[4] ?? 0) - (ticks[7] ?? 0);
  // USER_HZ is 100 on Linux.
  return busy / 100;
}
