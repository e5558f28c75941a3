/**
 * A worker process SIGKILLed in the middle of a provider call never makes an idempotent provider
 * send twice. The doomed worker is the real `src/main.ts` (roles `worker`, the channel from
 * `HERALD_CHANNELS`) on a fresh PostgreSQL schema; a loopback Resend holds its request open, the
 * test kills the process, and a second Herald on the same database (its clock past the dead
 * worker's 60 s lease) takes the job over. Every attempt carries `Idempotency-Key: herald-<message
 * id>`, so Resend answers the retry with the first email instead of creating another.
 *
 * PostgreSQL only: the kill needs a second OS process sharing the database, which PGlite (one
 * embedded, single-process database) cannot give.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.js';
import type { Db } from '../../src/store/db.js';
import { writeWorkflowsDir } from '../support/harness.js';
import { openSharedDb, startHeraldOn, type RunningHerald, type SharedDb } from '../support/two-heralds.js';
import { FakeResend } from '../support/providers/email-servers.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const RESEND_KEY = 're_crash_key_3f9a0c12';
const LEASE_MS = 60_000; // LEASE_MS in src/queue/delivery-task.ts

const welcome = {
  key: 'welcome',
  name: 'Welcome',
  steps: [{
    ref: 'email',
    type: 'channel',
    channel_key: 'mail',
    template: { subject: 'Welcome, {{ recipient.name }}', html_body: '<p>Hello {{ recipient.name }}</p>', text_body: 'Hello {{ recipient.name }}' },
  }],
};

/** Polls `cond` every 10 ms until it holds; fails after `ms` with `what` and the child's output. */
async function until(cond: () => boolean | Promise<boolean>, what: string, output: () => string, ms = 30_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; worker output:\n${output()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The delivery job as the dead worker left it (null once settled). */
async function job(db: Db, messageId: string) {
  const [row] = await db.query<{ attempts: number; lease_owner: string | null }>('SELECT attempts, lease_owner FROM deliveries WHERE message_id = $1', [messageId]);
  return row ?? null;
}

describe.skipIf(!process.env.DATABASE_URL)('delivery survives a SIGKILLed worker process (PostgreSQL only: set DATABASE_URL to run)', () => {
  let shared: SharedDb | undefined;
  let resend: FakeResend | undefined;
  let child: ChildProcess | undefined;
  const heralds: RunningHerald[] = [];
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    child = undefined;
    for (const h of heralds.splice(0)) await h.close().catch(() => {});
    await shared?.close(); // drops the schema
    shared = undefined;
    resend?.release();
    await resend?.close();
    resend = undefined;
  });

  /**
   * A schema with the workflow, an API-only Herald (to trigger with the SDK) and the doomed
   * worker process, whose Resend request is held in `mode` until the test kills it.
   */
  async function crashMidSend(mode: 'before-accept' | 'after-accept') {
    resend = await new FakeResend(RESEND_KEY).start();
    shared = await openSharedDb('postgres');
    const [dbA, dbB] = shared.dbs;
    const [{ schema }] = await dbA.query<{ schema: string }>('SELECT current_schema() AS schema');
    // The API process: migrates, loads the workflow, answers the SDK. Its worker never runs.
    const front = await startHeraldOn(dbA, { clock: new ManualClock(new Date()), workflows: [welcome] });
    heralds.push(front);

    const url = new URL(process.env.DATABASE_URL!);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const channels = [{ key: 'mail', type: 'email', provider: 'resend', settings: { api_key: RESEND_KEY, from: 'Herald <noreply@herald.test>', base_url: resend.url } }];
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: url.toString(),
        HERALD_ROLES: 'worker',
        HERALD_CHANNELS: JSON.stringify(channels),
        HERALD_WORKFLOWS_DIR: writeWorkflowsDir([welcome]),
        HERALD_POLL_INTERVAL_MS: '50',
        HERALD_LOG_LEVEL: 'warn',
        HERALD_CONFIG: '', // no herald.config.json from the working tree
      },
    });
    child = proc;
    let output = '';
    proc.stdout!.on('data', (d) => { output += d; });
    proc.stderr!.on('data', (d) => { output += d; });
    const log = () => output;

    resend.hold(mode);
    await front.knock.users.update('ada', { name: 'Ada', email: 'ada@example.com' });
    await front.knock.workflows.trigger('welcome', { recipients: ['ada'] });
    await until(() => resend!.held === 1 || proc.exitCode !== null, 'the worker\'s request to Resend', log, 60_000);
    expect(proc.exitCode, log()).toBeNull();
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;

    const [message] = (await front.knock.users.listMessages('ada')).items;
    // Killed mid-send, or the test proves nothing: the job is still claimed by the dead worker.
    expect(message.status).toBe('queued');
    expect(await job(dbA, message.id)).toMatchObject({ attempts: 1, lease_owner: expect.stringMatching(/^delivery:/) });
    await front.close();
    heralds.splice(heralds.indexOf(front), 1);

    // The second process, on its own connection pool; at first its clock is inside the lease.
    const clock = new ManualClock(new Date());
    const next = await startHeraldOn(dbB, { clock });
    heralds.push(next);
    return { message, next, clock, db: dbB, resend, key: `herald-${message.id}` };
  }

  it('killed after Resend accepted the email: the retry replays it, ONE email, the message sent with its id', async () => {
    const { message, next, clock, db, resend, key } = await crashMidSend('after-accept');
    expect(resend.emails).toHaveLength(1);
    resend.release(); // the held answer goes to a dead socket

    // Within the dead worker's lease nobody takes the job.
    expect(await next.drain()).toBe(0);
    expect(resend.requestCount).toBe(1);
    clock.advance(LEASE_MS + 1_000);
    await next.drain();

    expect(resend.requestCount).toBe(2);
    expect(resend.requests.map((r) => r.headers['idempotency-key'])).toEqual([key, key]);
    expect(resend.requests[1].raw).toBe(resend.requests[0].raw);
    expect(resend.emails).toHaveLength(1);
    const [email] = resend.emails;
    expect(email.idempotencyKey).toBe(key);

    const sent = await next.knock.messages.get(message.id);
    expect(sent.status).toBe('sent');
    expect(sent.metadata).toMatchObject({ provider: 'resend', external_id: email.id });
    expect((await next.knock.messages.listEvents(message.id)).items.map((e) => e.type).reverse()).toEqual(['message.queued', 'message.sent']);
    // The dead attempt left no log; the retry's log is Resend's replay of the first answer.
    const logs = (await next.knock.messages.listDeliveryLogs(message.id)).items;
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      service_name: 'resend',
      request: { method: 'POST', path: '/emails', headers: { 'Idempotency-Key': key, Authorization: '[REDACTED]' } },
      response: { status: 200, body: { id: email.id } },
    });
    expect(JSON.stringify(logs)).not.toContain(RESEND_KEY);
    expect(await db.query('SELECT attempt FROM message_delivery_logs WHERE message_id = $1', [message.id])).toEqual([{ attempt: 2 }]);
    expect(await job(db, message.id)).toBeNull();
  }, 120_000);

  it('killed before Resend accepted it: the retry meets the key in flight (409, retried), then ONE email is sent', async () => {
    const { message, next, clock, db, resend, key } = await crashMidSend('before-accept');
    expect(resend.emails).toHaveLength(0);

    clock.advance(LEASE_MS + 1_000);
    await next.drain();
    // Resend is still working on the dead worker's request: the retry is refused, not sent twice.
    expect(resend.requestCount).toBe(2);
    expect(resend.emails).toHaveLength(0);
    expect((await next.knock.messages.get(message.id)).status).toBe('delivery_attempted');

    // Resend finishes the orphaned request (its client is gone), creating the email.
    resend.release();
    await until(() => resend.emails.length === 1, 'Resend to process the orphaned request', () => '');
    clock.advance(37_000); // the second attempt's backoff: 30 s ± 20 %
    await next.drain();

    expect(resend.requestCount).toBe(3);
    expect(resend.requests.map((r) => r.headers['idempotency-key'])).toEqual([key, key, key]);
    expect(resend.emails).toHaveLength(1);
    const [email] = resend.emails;
    const sent = await next.knock.messages.get(message.id);
    expect(sent.status).toBe('sent');
    expect(sent.metadata).toMatchObject({ provider: 'resend', external_id: email.id });
    expect((await next.knock.messages.listEvents(message.id)).items.map((e) => e.type).reverse())
      .toEqual(['message.queued', 'message.delivery_attempted', 'message.sent']);
    const logs = (await next.knock.messages.listDeliveryLogs(message.id)).items.reverse();
    expect(logs.map((l) => [l.response.status, (l.response.body as { name?: string; id?: string }).name ?? (l.response.body as { id?: string }).id]))
      .toEqual([[409, 'concurrent_idempotent_requests'], [200, email.id]]);
    expect(await db.query('SELECT attempt FROM message_delivery_logs WHERE message_id = $1 ORDER BY seq', [message.id])).toEqual([{ attempt: 2 }, { attempt: 3 }]);
    expect(await job(db, message.id)).toBeNull();
  }, 120_000);
});
