/**
 * Every bench script's main: a stack of clean-ups (schemas, data dirs, child processes, Herald)
 * that runs on success, on error and on SIGINT/SIGTERM, and an exit code that says whether the
 * script worked (a missed goal is not a failure: it is a figure; an exception is).
 */
type Cleanup = () => unknown;

const cleanups: Cleanup[] = [];
let cleaning: Promise<void> | null = null;

/** Registers a clean-up; they run last-registered first. */
export function defer(fn: Cleanup): void {
  cleanups.push(fn);
}

function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const fn = cleanups.pop()!;
      try { await fn(); } catch (err) { console.error('cleanup failed:', err instanceof Error ? err.message : err); }
    }
  })();
  return cleaning;
}

export function runBench(main: () => Promise<void>): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => { void cleanupAll().finally(() => process.exit(130)); });
  }
  main().then(
    async () => { await cleanupAll(); process.exit(process.exitCode ?? 0); },
    async (err) => { console.error(err); await cleanupAll(); process.exit(1); },
  );
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it holds; throws after `timeoutMs` naming `what` (a stuck benchmark fails, it does not hang). */
export async function until(what: string, check: () => Promise<boolean>, opts: { intervalMs?: number; timeoutMs?: number } = {}): Promise<void> {
  const deadline = performance.now() + (opts.timeoutMs ?? 600_000);
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(opts.intervalMs ?? 100);
  }
}
