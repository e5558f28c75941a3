/**
 * Provider failover: a channel lists fallback providers, tried in order when the one before
 * fails retryably or its circuit breaker is open. The breaker lives in the database, so every
 * delivery worker of every process sees it. Real SMTP servers on loopback; the primary is a
 * port nobody listens on (connection refused) or a server answering 451.
 */
import { createServer } from 'node:net';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDeliveryTask, CIRCUIT_OPEN_MS, CIRCUIT_THRESHOLD } from '../../src/queue/delivery-task.js';
import { engines, startTestHerald, type EngineName, type TestHerald } from '../support/harness.js';
import { LoopbackSmtp } from '../support/smtp-server.js';

const welcome = {
  key: 'welcome',
  name: 'Welcome',
  steps: [{ ref: 'email', type: 'channel', channel_key: 'postal', template: { subject: 'Hi {{ recipient.name }}', text_body: 'Hello' } }],
};

/** A loopback port with nothing listening on it: connecting is refused at once. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.each(engines)('provider failover (%s)', (engine: EngineName) => {
  let t: TestHerald;
  let primary: LoopbackSmtp;
  let fallback: LoopbackSmtp;

  async function start(primarySettings: Record<string, unknown>) {
    t = await startTestHerald(engine, {
      workflows: [welcome],
      channels: [{
        key: 'postal', type: 'email', provider: 'smtp', settings: primarySettings,
        fallbacks: [{ provider: 'smtp', settings: fallback.settings() }],
      }],
    });
  }

  async function send(user: string) {
    await t.knock.users.update(user, { name: user, email: `${user}@example.com` } as any);
    await t.knock.workflows.trigger('welcome', { recipients: [user] });
  }

  async function messageOf(user: string) {
    const { items } = await t.knock.users.listMessages(user);
    expect(items).toHaveLength(1);
    return items[0];
  }

  const logHosts = async (messageId: string) => (await t.knock.messages.listDeliveryLogs(messageId)).items.map((l) => l.request.host).reverse();

  beforeEach(async () => {
    primary = await new LoopbackSmtp('primary-pass').start();
    fallback = await new LoopbackSmtp('fallback-pass').start();
  });
  afterEach(async () => {
    await t?.close();
    await primary.close();
    await fallback.close();
  });

  it('sends through the fallback in the same attempt when the primary fails temporarily, and records both calls', async () => {
    await start(primary.settings());
    primary.script = [451];
    await send('ada');
    await t.drain();
    const message = await messageOf('ada');
    expect(message.status).toBe('sent');
    expect(primary.attempts).toBe(1);
    expect(primary.received).toHaveLength(0);
    expect(fallback.received.map((m) => m.subject)).toEqual(['Hi ada']);
    expect(await logHosts(message.id)).toEqual([`127.0.0.1:${primary.port}`, `127.0.0.1:${fallback.port}`]);
    expect((message as any).metadata).toMatchObject({ provider: 'smtp' });
    expect(JSON.stringify((await t.knock.messages.listDeliveryLogs(message.id)).items)).not.toMatch(/primary-pass|fallback-pass/);
  });

  it('does not fail over on a permanent failure: the message is undelivered', async () => {
    await start(primary.settings());
    primary.script = [550];
    await send('bo');
    await t.drain();
    expect((await messageOf('bo')).status).toBe('undelivered');
    expect(fallback.attempts).toBe(0);
  });

  it(`opens the primary's circuit after ${CIRCUIT_THRESHOLD} consecutive failures, then skips it until it half-opens`, async () => {
    const port = await deadPort();
    await start({ ...primary.settings(), port });
    for (let i = 0; i < CIRCUIT_THRESHOLD; i++) await send(`u${i}`);
    await t.drain();
    expect(fallback.received).toHaveLength(CIRCUIT_THRESHOLD);
    // Each of those tried the dead primary first.
    expect(await logHosts((await messageOf('u0')).id)).toEqual([`127.0.0.1:${port}`, `127.0.0.1:${fallback.port}`]);

    // Open: the next message goes straight to the fallback, with no call to the primary.
    await send('next');
    await t.drain();
    const next = await messageOf('next');
    expect(next.status).toBe('sent');
    expect(await logHosts(next.id)).toEqual([`127.0.0.1:${fallback.port}`]);

    // The breaker is in the database: another delivery worker (as in another process) sees it open.
    await send('other');
    await t.herald.worker.drain();
    const other = createDeliveryTask({ db: t.db, clock: t.clock, logger: pino({ level: 'silent' }), workerId: 'second-process' });
    expect(await other.tick()).toBe(1);
    expect(await logHosts((await messageOf('other')).id)).toEqual([`127.0.0.1:${fallback.port}`]);

    // After the open period one call probes the primary again (half-open); it still fails, so it opens again.
    t.clock.advance(CIRCUIT_OPEN_MS + 1);
    await send('probe');
    await send('after-probe');
    await t.drain();
    expect(await logHosts((await messageOf('probe')).id)).toEqual([`127.0.0.1:${port}`, `127.0.0.1:${fallback.port}`]);
  });

  it('closes the circuit again once the primary answers', async () => {
    primary.script = Array(CIRCUIT_THRESHOLD).fill(451);
    await start(primary.settings());
    for (let i = 0; i < CIRCUIT_THRESHOLD; i++) await send(`u${i}`);
    await t.drain();
    expect(primary.received).toHaveLength(0);
    t.clock.advance(CIRCUIT_OPEN_MS + 1);
    await send('probe');
    await t.drain();
    // The probe succeeded on the primary: the circuit is closed and the primary takes the next one too.
    expect(await logHosts((await messageOf('probe')).id)).toEqual([`127.0.0.1:${primary.port}`]);
    await send('later');
    await t.drain();
    expect(primary.received.map((m) => m.subject)).toEqual(['Hi probe', 'Hi later']);
  });

  it('retries later when every provider fails temporarily', async () => {
    primary.script = [451];
    fallback.script = [421];
    await start(primary.settings());
    await send('cy');
    await t.drain();
    expect((await messageOf('cy')).status).toBe('delivery_attempted');
    t.clock.advance(20_000);
    await t.drain();
    const message = await messageOf('cy');
    expect(message.status).toBe('sent');
    expect(primary.received.map((m) => m.subject)).toEqual(['Hi cy']);
  });
});
