import type { BenchResult } from '../report.js';

/** One row of the summary: a script's BENCH line, or why a script gave none. */
export interface Row { target: string; engine: string; figure: string; baseline: string; ratio: string; goal: string; met: string }

export const HEADER: Row = { target: 'target', engine: 'engine', figure: 'figure', baseline: 'baseline (same run)', ratio: 'ratio', goal: 'goal', met: 'met' };
const COLUMNS = Object.keys(HEADER) as (keyof Row)[];

export function rowOf(r: BenchResult): Row {
  return {
    target: r.target, engine: r.engine, figure: r.figure, baseline: r.baseline,
    ratio: r.ratio === null || !Number.isFinite(r.ratio) ? '—' : r.ratio.toFixed(r.ratio < 0.1 ? 3 : 2),
    goal: r.goal, met: r.met ? 'yes' : 'NO',
  };
}

export function failedRow(target: string, engine: string, reason: string): Row {
  return { target, engine, figure: `failed: ${reason}`, baseline: '—', ratio: '—', goal: '—', met: '—' };
}

/** Plain-text table, columns padded to their widest cell. */
export function textTable(rows: Row[]): string {
  const all = [HEADER, ...rows];
  const width = Object.fromEntries(COLUMNS.map((c) => [c, Math.max(...all.map((r) => r[c].length))])) as Record<keyof Row, number>;
  const line = (r: Row) => COLUMNS.map((c) => r[c].padEnd(width[c])).join(' | ').trimEnd();
  return [line(HEADER), COLUMNS.map((c) => '-'.repeat(width[c])).join('-|-'), ...rows.map(line)].join('\n');
}

export function markdownTable(rows: Row[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${COLUMNS.map((c) => HEADER[c]).join(' | ')} |`,
    `|${COLUMNS.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${COLUMNS.map((c) => cell(r[c])).join(' | ')} |`),
  ].join('\n');
}
