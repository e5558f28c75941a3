/**
 * Graceful shutdown on PostgreSQL, with two Herald processes on one database (issue 15). A closes
 * while one of its claimed runs is stuck in an http_fetch call: A's close is bounded by its
 * shutdown timeout, and the run it gives back is due at once, so B's worker advances it long
 * before A's 20 s lease would have let anyone take it; when A's stuck call finally returns, its
 * late checkpoint is refused, so the recipient still gets exactly one message.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createHerald, type Herald } from '../../src/herald.js';
import { openSharedDb, type SharedDb } from '../support/two-heralds.js';
import { writeWorkflowsDir } from '../support/harness.js';

const LEASE_MS = 20_000;
const SHUTDOWN_TIMEOUT_MS = 500;

const enrich = {
  key: 'enrich',
  name: 'Enrich',
  steps: [
    { ref: 'fetch', type: 'http_fetch', settings: { url: '{{ data.base }}/profile' } },
    { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'score {{ data.score }}' } },
  ],
};

describe.runIf(!!process.env.DATABASE_URL)('graceful shutdown (postgres)', () => {
  let shared: SharedDb | undefined;
  const heralds: Herald[] = [];
  const held: ServerResponse[] = [];
  let server: ReturnType<typeof createServer> | undefined;

  afterEach(async () => {
    for (const res of held.splice(0)) res.end('{}');
    for (const h of heralds.splice(0)) await h.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await shared?.close();
  });

  const start = async (db: SharedDb['dbs'][number], workflowsDir: string) => {
    const herald = await createHerald({
      db,
      logger: pino({ level: process.env.HERALD_TEST_LOG ?? 'silent' }),
      workflowsDir,
      outbound: { allowPrivateNetworks: true },
      fetch: { timeoutMs: 60_000 },
      shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS,
    });
    heralds.push(herald);
    return herald;
  };

  it('gives back a run stuck in flight, due at once for the other process, with no duplicate message', async () => {
    // The profile service hangs on its first call (A's) and answers every later one.
    let calls = 0;
    let firstArrived!: () => void;
    const arrived = new Promise<void>((resolve) => { firstArrived = resolve; });
    server = createServer((_req: IncomingMessage, res: ServerResponse) => {
      calls += 1;
      res.setHeader('content-type', 'application/json');
      if (calls === 1) { held.push(res); firstArrived(); return; }
      res.end(JSON.stringify({ score: 42 }));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    shared = await openSharedDb('postgres');
    const dir = writeWorkflowsDir([enrich]);
    const a = await start(shared.dbs[0], dir);
    const b = await start(shared.dbs[1], dir);
    await a.engine.trigger('enrich', { recipients: ['ada'], data: { base } }, {});
    a.worker.start();
    await arrived;

    const closing = performance.now();
    await a.close();
    heralds.splice(heralds.indexOf(a), 1);
    const closeMs = performance.now() - closing;
    const [run] = await shared.dbs[1].query<{ status: string; lease_owner: string | null; attempts: number; wake_at: Date }>(
      'SELECT status, lease_owner, attempts, wake_at FROM recipient_runs');
    // Given back: no owner, the claim not counted against the run, due now.
    expect(run).toMatchObject({ status: 'processing', lease_owner: null, attempts: 0 });
    expect(run.wake_at.getTime()).toBeLessThanOrEqual(Date.now());

    const released = performance.now();
    b.worker.start();
    const feedOf = () => shared!.dbs[1].query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE recipient_id = 'ada'`);
    while ((await feedOf())[0].n === 0 && performance.now() - released < LEASE_MS) await new Promise((r) => setTimeout(r, 20));
    const pickupMs = performance.now() - released;
    // Only the give-back lets B in before A's lease ends.
    expect(pickupMs).toBeLessThan(LEASE_MS / 2);
    expect(closeMs).toBeLessThan(LEASE_MS / 2);

    // A's stuck call returns now; its checkpoint must be refused (B owns the run's outcome).
    held.splice(0).forEach((res) => res.end(JSON.stringify({ score: 1 })));
    await new Promise((r) => setTimeout(r, 500));
    const messages = await shared.dbs[1].query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE recipient_id = 'ada'`);
    expect(messages[0].n).toBe(1);
    const [done] = await shared.dbs[1].query<{ status: string }>('SELECT status FROM recipient_runs');
    expect(done.status).toBe('completed');
    console.log(`graceful shutdown: close ${closeMs.toFixed(0)} ms, picked up by the other process ${pickupMs.toFixed(0)} ms after`);
  });
});
