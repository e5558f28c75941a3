import type { Db } from './db.js';

/** How long a live copy is trusted without a NOTIFY before a request triggers a re-read. */
const REREAD_MS = 30_000;

/**
 * A value read from the database and kept in the process (API keys, service tokens), so a
 * request never queries for it. Re-read on NOTIFY on `channel` (a rotation in any process is
 * seen at once) and, as a backstop for a lost notification, lazily when older than REREAD_MS.
 * A failed read (database briefly away, or closed at shutdown) keeps the last good copy.
 */
export async function liveCopy<T>(db: Db, channel: string, read: () => Promise<T>, initial?: T): Promise<{ current(): T }> {
  let value: T = initial !== undefined ? initial : await read();
  let readAt = Date.now();
  let reading: Promise<void> | null = null;
  const reread = () => {
    reading ??= read()
      .then((v) => { value = v; readAt = Date.now(); })
      .catch(() => {})
      .finally(() => { reading = null; });
  };
  await db.listen(channel, reread);
  return {
    current() {
      if (Date.now() - readAt > REREAD_MS) reread();
      return value;
    },
  };
}
