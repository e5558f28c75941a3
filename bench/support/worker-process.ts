/**
 * A worker-only Herald process for a bench (as `HERALD_ROLES=worker herald start` runs one):
 * the run worker and the background worker on the bench's PostgreSQL schema, no API. Sends
 * `{ready: true}` over IPC once started; stops its workers and exits on `{cmd: 'close'}` or
 * SIGTERM.
 * Usage (forked): worker-process.ts <connectionString> <schema> <workflowsDir> [pollIntervalMs]
 */
import pino from 'pino';
import { createHerald } from '../../src/herald.js';
import { openPostgres } from '../../src/store/pg-adapter.js';
import { warmRenderPool } from '../../src/templates/liquid.js';

const [url, schema, workflowsDir, poll] = process.argv.slice(2);
const db = await openPostgres({ connectionString: url, schema, max: 20 });
const herald = await createHerald({ db, logger: pino({ level: 'silent' }), workflowsDir, pollIntervalMs: Number(poll ?? 50) });
warmRenderPool();
herald.worker.start();
herald.background.start();
let closing = false;
const close = async () => {
  if (closing) return;
  closing = true;
  await herald.close();
  await db.close();
  process.exit(0);
};
process.on('SIGTERM', () => void close());
process.on('message', (m: { cmd?: string }) => { if (m.cmd === 'close') void close(); });
process.send!({ ready: true });
