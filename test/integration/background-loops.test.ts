import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { BackgroundWorker, type BackgroundTask } from '../../src/queue/background-worker.js';
import type { Db } from '../../src/store/db.js';
import { engines, openTestDb } from '../support/harness.js';

/**
 * A long task (as a large fan-out's pass is) beside a short one (batch flushes, deliveries): in
 * turn, the short one waits for the long pass; in a loop of its own, the long one does not hold
 * the short one up.
 */
function tasks() {
  const events: string[] = [];
  let releaseLong!: () => void;
  const longPassHeld = new Promise<void>((resolve) => { releaseLong = resolve; });
  let longStarted = false;
  const long: BackgroundTask = {
    name: 'long',
    async tick() {
      if (longStarted) return 0;
      longStarted = true;
      events.push('long started');
      await longPassHeld;
      events.push('long ended');
      return 1;
    },
  };
  let shortTicks = 0;
  const short: BackgroundTask = {
    name: 'short',
    async tick() {
      shortTicks += 1;
      if (shortTicks === 1) events.push('short ran');
      return 0;
    },
  };
  return { events, long, short, releaseLong, shortTicks: () => shortTicks };
}

const until = async (check: () => boolean, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe.each(engines)('background task loops (%s)', (engine) => {
  let db: Db;
  let worker: BackgroundWorker | undefined;
  afterEach(async () => {
    await worker?.stop(1000);
    worker = undefined;
    await db.close();
  });

  it('a task in a loop of its own does not hold up the others while its pass runs', async () => {
    db = await openTestDb(engine);
    const t = tasks();
    worker = new BackgroundWorker({ db, logger: pino({ level: 'silent' }), tasks: [t.long, t.short], ownLoops: ['long'], pollIntervalMs: 20 });
    worker.start();
    // The short task keeps polling while the long pass is still held.
    await until(() => t.shortTicks() >= 3);
    expect([...t.events].sort()).toEqual(['long started', 'short ran']);
    t.releaseLong();
    await until(() => t.events.includes('long ended'));
  });

  it('tasks in turn wait for each other: the short one runs only after the long pass', async () => {
    db = await openTestDb(engine);
    const t = tasks();
    worker = new BackgroundWorker({ db, logger: pino({ level: 'silent' }), tasks: [t.long, t.short], pollIntervalMs: 20 });
    worker.start();
    await until(() => t.events.length >= 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(t.events).toEqual(['long started']);
    t.releaseLong();
    await until(() => t.events.includes('short ran'));
    expect(t.events).toEqual(['long started', 'long ended', 'short ran']);
  });

  it('stop waits for every loop\'s pass and then no task runs again', async () => {
    db = await openTestDb(engine);
    const t = tasks();
    const w = new BackgroundWorker({ db, logger: pino({ level: 'silent' }), tasks: [t.long, t.short], ownLoops: ['long'], pollIntervalMs: 20 });
    w.start();
    await until(() => t.shortTicks() >= 1);
    let stopped = false;
    const stopping = w.stop().then(() => { stopped = true; });
    await new Promise((r) => setTimeout(r, 50));
    // The long pass is still held, so stop has not returned.
    expect(stopped).toBe(false);
    t.releaseLong();
    await stopping;
    const ticks = t.shortTicks();
    await new Promise((r) => setTimeout(r, 100));
    expect(t.shortTicks()).toBe(ticks);
    expect(t.events.at(-1)).toBe('long ended');
    expect(t.events).toHaveLength(3);
  });
});
