/**
 * Group commit: concurrent callers hand in one item each; items that arrive while earlier groups
 * are being written are gathered and written together by ONE call of `write` (one transaction,
 * one commit), and each caller gets its own item's result only after that call settled.
 *
 * Domain-agnostic plumbing. The policy is "gather while busy": an item that arrives while fewer
 * than `maxInFlight` groups are being written starts a group at the end of the current event-loop
 * turn (so requests parsed in the same turn share it); otherwise it waits for the next free slot
 * and joins every item that queued meanwhile (up to `maxItems`). An idle server therefore adds no
 * latency, and a busy one writes bigger groups instead of queueing more transactions on the WAL
 * (a fixed gathering delay would add its whole length to every trigger at low load).
 */
export interface GroupCommitOptions<I> {
  /** Most items written by one call. */
  maxItems: number;
  /** Most groups being written at once (database connections the writer may use). */
  maxInFlight: number;
  /**
   * Items with the same key never share a group: the later one waits for the next group, which
   * sees the earlier one's commit (e.g. two requests with the same Idempotency-Key).
   */
  exclusiveKey?: (item: I) => string | undefined;
}

interface Pending<I, O> {
  item: I;
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
}

/**
 * Returns `submit(item)`. `write(items)` must return one result per item, in order; if it
 * throws, every caller of that group gets the error (e.g. commit outcome unknown).
 */
export function groupCommit<I, O>(write: (items: I[]) => Promise<O[]>, opts: GroupCommitOptions<I>): (item: I) => Promise<O> {
  const queue: Pending<I, O>[] = [];
  let inFlight = 0;
  let scheduled = false;

  const schedule = () => {
    if (scheduled || queue.length === 0 || inFlight >= opts.maxInFlight) return;
    scheduled = true;
    setImmediate(() => { scheduled = false; startGroups(); });
  };

  const takeGroup = (): Pending<I, O>[] => {
    const group: Pending<I, O>[] = [];
    const keys = new Set<string>();
    for (let i = 0; i < queue.length && group.length < opts.maxItems;) {
      const key = opts.exclusiveKey?.(queue[i].item);
      if (key !== undefined && keys.has(key)) { i++; continue; }
      if (key !== undefined) keys.add(key);
      group.push(queue[i]);
      queue.splice(i, 1);
    }
    return group;
  };

  const run = async (group: Pending<I, O>[]) => {
    inFlight++;
    try {
      const results = await write(group.map((p) => p.item));
      group.forEach((p, i) => p.resolve(results[i]));
    } catch (err) {
      for (const p of group) p.reject(err);
    } finally {
      inFlight--;
      // Whatever queued while this group was written goes next, together.
      startGroups();
    }
  };

  function startGroups(): void {
    while (queue.length > 0 && inFlight < opts.maxInFlight) void run(takeGroup());
  }

  return (item) => new Promise<O>((resolve, reject) => {
    queue.push({ item, resolve, reject });
    schedule();
  });
}
