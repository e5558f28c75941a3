import { parseArgs } from 'node:util';

export type Engine = 'pglite' | 'postgres';

/**
 * The options every bench script takes — `--engine pglite|postgres` and `--quick` (smaller sizes
 * for a smoke run) — plus the script's own string options.
 */
export function benchArgs<K extends string>(own: readonly K[] = []): { engine: Engine; quick: boolean; opt: (name: K) => string | undefined } {
  const options: Record<string, { type: 'string' | 'boolean' }> = { engine: { type: 'string' }, quick: { type: 'boolean' } };
  for (const k of own) options[k] = { type: 'string' };
  const { values } = parseArgs({ options });
  const engine = (values.engine as string | undefined) ?? (process.env.DATABASE_URL ? 'postgres' : 'pglite');
  if (engine !== 'pglite' && engine !== 'postgres') throw new Error(`--engine must be pglite or postgres, got "${engine}"`);
  return { engine, quick: values.quick === true || process.env.BENCH_QUICK === '1', opt: (name) => values[name] as string | undefined };
}

/** A numeric option: the flag if given, else the quick or the full default. */
export function sized(raw: string | undefined, quick: boolean, quickDefault: number, fullDefault: number): number {
  if (raw === undefined) return quick ? quickDefault : fullDefault;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`expected a positive number, got "${raw}"`);
  return n;
}
