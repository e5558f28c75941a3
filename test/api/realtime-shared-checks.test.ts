/**
 * Realtime checks are shared: many sockets watching feeds do not each query the feed when new
 * messages arrive. The API Herald's database is wrapped to count the statements that read the
 * feed (`FROM messages m`); a second Herald's worker creates the messages, so the only path
 * between them is the database's NOTIFY. Sockets speak the Phoenix v2 JSON protocol over `ws`,
 * as phoenix.js does.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ManualClock } from '../../src/domain/clock.js';
import { engines } from '../support/harness.js';
import { openSharedDb, startHeraldOn, type RunningHerald, type SharedDb } from '../support/two-heralds.js';
import { countingFeedReads } from '../support/counting-db.js';

const hello = {
  key: 'hello',
  name: 'Hello',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hello #{{ data.n }}' } }],
};

type Frame = [string | null, string | null, string, string, any];

/** A Phoenix client socket joined to one feed topic; `pushed` resolves with its first new-message. */
async function joinFeed(api: RunningHerald, userId: string, options: Record<string, unknown>) {
  const ws = new WebSocket(`${api.url.replace(/^http/, 'ws')}/ws/v1/websocket?api_key=${api.publicKey}&vsn=2.0.0`);
  const topic = `feeds:in-app-feed:${userId}`;
  let joined!: (f: Frame) => void;
  let pushed!: (f: Frame) => void;
  const joinReply = new Promise<Frame>((r) => { joined = r; });
  const push = new Promise<Frame>((r) => { pushed = r; });
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Frame;
    if (frame[3] === 'phx_reply' && frame[1] === '1') joined(frame);
    if (frame[3] === 'new-message') pushed(frame);
  });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  ws.send(JSON.stringify(['1', '1', topic, 'phx_join', { ref1: options }]));
  expect((await joinReply)[4]).toEqual({ status: 'ok', response: {} });
  return { ws, push };
}

describe.each(engines)('realtime checks shared across sockets (%s)', (engine) => {
  let shared: SharedDb;
  let api: RunningHerald;
  let worker: RunningHerald;
  const sockets: WebSocket[] = [];

  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate();
    await api.close();
    await worker.close();
    await shared.close();
  });

  it('one trigger for many watched feeds reads the feed fewer times than there are sockets, and every socket gets its push', async () => {
    shared = await openSharedDb(engine);
    const clock = new ManualClock(new Date());
    const counting = countingFeedReads(shared.dbs[0]);
    api = await startHeraldOn(counting.db, { clock, workflows: [hello] });
    worker = await startHeraldOn(shared.dbs[1], { clock, workflows: [hello] });

    // Three sockets per user on the same feed, and one more for ada with a filter of its own.
    const users = ['ada', 'bob', 'cyd', 'dee'];
    const joins = [];
    for (const user of users) for (let i = 0; i < 3; i++) joins.push(await joinFeed(api, user, { archived: 'exclude' }));
    joins.push(await joinFeed(api, 'ada', { archived: 'exclude', status: 'unread' }));
    sockets.push(...joins.map((j) => j.ws));

    const before = counting.reads();
    await api.knock.workflows.trigger('hello', { recipients: users, data: { n: 1 } });
    clock.advance(1000);
    expect(await worker.drain()).toBeGreaterThan(0);
    const frames = await Promise.all(joins.map((j) => j.push));

    for (const [joinRef, ref, , , payload] of frames) {
      expect([joinRef, ref]).toEqual(['1', null]);
      expect(payload).toEqual({
        event: 'new-message',
        metadata: { __typename: 'FeedMetadata', total_count: 1, unread_count: 1, unseen_count: 1 },
        data: { ref1: { metadata: { __typename: 'FeedMetadata', total_count: 1, unread_count: 1, unseen_count: 1 } } },
        attn: ['ref1'],
      });
    }
    // Per socket, the old path read the feed two or three times (13 sockets: 26 or more).
    expect(counting.reads() - before).toBeLessThan(joins.length);
  });
});
