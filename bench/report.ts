/**
 * The one format every benchmark script reports in. A script prints one `BENCH {json}` line per
 * target; `bench/all.ts` collects those lines from every script and engine into one table.
 * `ratio` is always "higher is better" against the same-run baseline (for latencies the script
 * divides baseline by figure), so a target reads `ratio >= goal`.
 */
export interface BenchResult {
  /** Stable id of the issue-12 target, e.g. "trigger", "worker", "timers", "cancel". */
  target: string;
  engine: 'pglite' | 'postgres';
  /** What was measured, human readable: "1,234 triggers/s, p99 38 ms". */
  figure: string;
  /** The same-run baseline, human readable: "raw INSERT at 32 conns 4,400/s". */
  baseline: string;
  /** figure ÷ baseline, oriented so that higher is better; null when there is no baseline. */
  ratio: number | null;
  /** The goal, human readable: "ratio ≥ 1.0, p99 ≤ 50 ms". */
  goal: string;
  /** Whether the goal was met in this run. */
  met: boolean;
  /** Anything else worth keeping (raw numbers). */
  extra?: Record<string, unknown>;
}

export function report(result: BenchResult): void {
  console.log(`BENCH ${JSON.stringify(result)}`);
}

export const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}
