/**
 * Poison runs (issue 11, item 2): a run whose claims keep dying — its worker process crashed or
 * hung past its lease while advancing it — is halted after POISON_RUN_MAX_UNFINISHED_CLAIMS
 * such claims, with the reason on its events, instead of taking workers down for ever. A dead
 * claim is simulated the way it happens: the claim commits (attempts counted) and its worker
 * never checkpoints, so the run becomes due again when the lease runs out.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { POISON_RUN_MAX_UNFINISHED_CLAIMS } from '../../src/engine/advance-batch.js';
import { claimDueRuns } from '../../src/store/runs.js';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';
import { feedTexts, runDetail, runsOf } from '../support/runs.js';

const LEASE_MS = 20_000; // the run worker's default lease

const hello = { key: 'hello', name: 'Hello', steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hello {{ recipient.id }}' } }] };

/** A worker claims every due run and dies before checkpointing; the lease then runs out. */
async function claimAndDie(t: TestHerald): Promise<number> {
  const now = t.clock.now();
  const claimed = await claimDueRuns(t.db, `dead-worker-${now.getTime()}`, now, new Date(now.getTime() + LEASE_MS), 50);
  t.clock.advance(LEASE_MS + 1);
  return claimed.length;
}

describe.each(engines)('poison runs (%s)', (engine) => {
  let t: TestHerald;
  afterEach(async () => { await t.close(); });

  it(`a run whose worker died ${POISON_RUN_MAX_UNFINISHED_CLAIMS} times is halted with the reason on its next claim`, async () => {
    t = await startTestHerald(engine, { workflows: [hello] });
    await t.knock.workflows.trigger('hello', { recipients: ['ada'] });
    for (let i = 0; i < POISON_RUN_MAX_UNFINISHED_CLAIMS; i++) expect(await claimAndDie(t)).toBe(1);
    await t.drain();
    const [run] = await runsOf(t, 'hello');
    const detail = await runDetail(t, run.id);
    expect(detail.status).toBe('completed');
    expect(detail.events.find((e) => e.event === 'run_halted')).toMatchObject({
      status: 'error',
      data: { reason: `the run's worker stopped ${POISON_RUN_MAX_UNFINISHED_CLAIMS} times while advancing it (crashed or ran out of time); halted so it cannot stop workers again` },
    });
    expect(await feedTexts(t, 'ada')).toEqual([]);
  });

  it('one fewer dead claim, or runs that died beside it, still finish normally', async () => {
    t = await startTestHerald(engine, { workflows: [hello] });
    await t.knock.workflows.trigger('hello', { recipients: ['ada', 'bob', 'cy'] });
    for (let i = 0; i < POISON_RUN_MAX_UNFINISHED_CLAIMS - 1; i++) expect(await claimAndDie(t)).toBe(3);
    // All three are suspects now: the worker advances them one claim at a time, alone.
    await t.drain();
    for (const user of ['ada', 'bob', 'cy']) expect(await feedTexts(t, user)).toEqual([`Hello ${user}`]);
    const [{ n }] = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM run_event_list WHERE event = 'run_halted'`);
    expect(n).toBe(0);
  });

  it('runs whose claims died beside the poison run are not halted with it', async () => {
    t = await startTestHerald(engine, { workflows: [hello] });
    await t.knock.workflows.trigger('hello', { recipients: ['ada'] });
    for (let i = 0; i < POISON_RUN_MAX_UNFINISHED_CLAIMS - 1; i++) await claimAndDie(t);
    await t.knock.workflows.trigger('hello', { recipients: ['bob', 'cy'] });
    expect(await claimAndDie(t)).toBe(3); // ada's fifth dead claim, bob's and cy's first
    await t.drain();
    const halted = await t.db.query<{ recipient_id: string }>(
      `SELECT r.recipient_id FROM run_event_list e JOIN recipient_runs r ON r.id = e.recipient_run_id WHERE e.event = 'run_halted'`);
    expect(halted).toEqual([{ recipient_id: 'ada' }]);
    expect(await feedTexts(t, 'bob')).toEqual(['Hello bob']);
    expect(await feedTexts(t, 'cy')).toEqual(['Hello cy']);
  });
});
