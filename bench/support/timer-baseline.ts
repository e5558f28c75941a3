import { percentile } from '../report.js';

/**
 * The same timer pattern on Node's setTimeout: `groups` groups of `perGroup` timers, group g
 * armed at g × `spacingMs` with a delay of `delayMs`; returns every timer's lateness in ms.
 */
export async function setTimeoutLateness(groups: number, perGroup: number, spacingMs: number, delayMs: number): Promise<{ late: number[]; p50: number; p99: number }> {
  const late: number[] = [];
  const fired: Promise<void>[] = [];
  const start = performance.now();
  for (let g = 0; g < groups; g++) {
    const armAt = start + g * spacingMs;
    const wait = armAt - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (let i = 0; i < perGroup; i++) {
      const due = performance.now() + delayMs;
      fired.push(new Promise((resolve) => setTimeout(() => { late.push(Math.max(0, performance.now() - due)); resolve(); }, delayMs)));
    }
  }
  await Promise.all(fired);
  return { late, p50: percentile(late, 0.5), p99: percentile(late, 0.99) };
}
