import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { feedTexts, runDetail, runsOf } from '../support/runs.js';

const MIN = 60_000;
const digestBody = '{{ total_activities }} comments by {{ total_actors }} people: {% for a in activities %}{{ a.data.comment }}{% unless forloop.last %}, {% endunless %}{% endfor %}';
const batchWorkflow = (key: string, settings: Record<string, unknown>, body = digestBody) => ({
  key,
  name: key,
  steps: [
    { ref: 'collect', type: 'batch', settings },
    { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: body } },
  ],
});

const workflows = [
  batchWorkflow('comments', { batch_window: { unit: 'minutes', value: 10 } }),
  batchWorkflow('per_page', { batch_window: { unit: 'minutes', value: 10 }, batch_key: 'page_id' }),
  batchWorkflow('capped', { batch_window: { unit: 'hours', value: 1 }, batch_items_max_limit: 2 }),
  batchWorkflow('sliding', { batch_window: { unit: 'minutes', value: 5 }, batch_window_type: 'sliding', batch_window_extension_limit: { unit: 'minutes', value: 12 } }),
  batchWorkflow('latest', { batch_window: { unit: 'minutes', value: 10 }, batch_order: 'desc', batch_items_render_limit: 2 }),
  batchWorkflow('leading', { batch_window: { unit: 'minutes', value: 10 }, batch_execution_mode: 'flush_leading' },
    '{% if total_activities == 1 %}First: {{ activities[0].data.comment }}{% else %}' + digestBody + '{% endif %}'),
  batchWorkflow('merged', { batch_window: { unit: 'minutes', value: 10 } }, '{{ data.title }} / {{ data.count }} / {{ data.nested.x | default: "dropped" }}'),
];

describe.each(engines)('batch steps (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => {
    t = await startTestHerald(engine, { workflows });
    for (const id of ['ann', 'ben', 'cat']) await t.knock.users.update(id, { name: id.toUpperCase() });
  });
  afterEach(async () => { await t.close(); });

  const comment = (workflow: string, actor: string, text: string, extra: Record<string, unknown> = {}, recipient = 'ada') =>
    t.knock.workflows.trigger(workflow, { recipients: [recipient], actor, data: { comment: text, ...extra } });

  it('collects every trigger in the window into one message, sent when the window closes', async () => {
    await comment('comments', 'ann', 'first');
    await t.drain();
    await t.clock.advance(2 * MIN);
    await comment('comments', 'ben', 'second');
    await comment('comments', 'ann', 'third');
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual([]);
    await t.clock.advance(8 * MIN);
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['3 comments by 2 people: first, second, third']);
    const runs = await runsOf(t, 'comments');
    expect(runs.every((r) => r.status === 'completed')).toBe(true);
    const reasons = await Promise.all(runs.map(async (r) => (await runDetail(t, r.id)).events.find((e) => e.event === 'run_halted')?.data?.reason ?? 'carried on'));
    expect(reasons.sort()).toEqual(['batched: another run of the batch carries it on', 'batched: another run of the batch carries it on', 'carried on']);
  });

  it("flushes windows that close together on time without a drain: the running worker's timer loop", async () => {
    for (const r of ['ada', 'bob', 'cy']) {
      await comment('comments', 'ann', `${r}-1`, {}, r);
      await comment('comments', 'ben', `${r}-2`, {}, r);
    }
    await t.drain();
    t.herald.worker.start();
    try {
      await t.clock.advance(10 * MIN);
      for (let i = 0; i < 200 && (await feedTexts(t, 'cy')).length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    } finally {
      await t.herald.worker.stop();
    }
    for (const r of ['ada', 'bob', 'cy']) expect(await feedTexts(t, r)).toEqual([`2 comments by 2 people: ${r}-1, ${r}-2`]);
    const batches = await t.db.query<{ late: number }>(`SELECT (EXTRACT(EPOCH FROM flushed_at - closes_at) * 1000)::int AS late FROM batches`);
    expect(batches).toEqual([{ late: 0 }, { late: 0 }, { late: 0 }]);
  });

  it('keeps one batch per recipient and per batch_key', async () => {
    await comment('per_page', 'ann', 'a1', { page_id: 'p1' });
    await comment('per_page', 'ben', 'b1', { page_id: 'p2' });
    await comment('per_page', 'cat', 'a2', { page_id: 'p1' });
    await comment('per_page', 'cat', 'x1', { page_id: 'p1' }, 'bob');
    await t.drain();
    await t.clock.advance(10 * MIN);
    await t.drain();
    expect((await feedTexts(t, 'ada')).sort()).toEqual(['1 comments by 1 people: b1', '2 comments by 2 people: a1, a2']);
    expect(await feedTexts(t, 'bob')).toEqual(['1 comments by 1 people: x1']);
  });

  it('closes early when batch_items_max_limit is reached, and the next trigger opens a new batch', async () => {
    await comment('capped', 'ann', 'one');
    await comment('capped', 'ben', 'two');
    await comment('capped', 'cat', 'three');
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['2 comments by 2 people: one, two']);
    await t.clock.advance(60 * MIN);
    await t.drain();
    expect((await feedTexts(t, 'ada'))[0]).toBe('1 comments by 1 people: three');
  });

  it('a sliding window moves with each activity, but never past the extension limit', async () => {
    await comment('sliding', 'ann', 'a');
    await t.drain();
    // Each activity moves the close to now + 5 min: 8, 11, then 14 capped at 12 (open + 12 min).
    for (const text of ['b', 'c', 'd']) {
      await t.clock.advance(3 * MIN);
      await comment('sliding', 'ben', text);
      await t.drain();
    }
    await t.clock.advance(2 * MIN);
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual([]);
    await t.clock.advance(1 * MIN);
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['4 comments by 2 people: a, b, c, d']);
  });

  it('batch_order desc with a render limit shows the latest activities, oldest first', async () => {
    for (const text of ['1', '2', '3', '4']) {
      await comment('latest', 'ann', text);
      await t.clock.advance(1000);
    }
    await t.drain();
    await t.clock.advance(10 * MIN);
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['4 comments by 1 people: 3, 4']);
  });

  it('flush_leading sends the first item at once and the rest as a batch when the window closes', async () => {
    await comment('leading', 'ann', 'hello');
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['First: hello']);
    await comment('leading', 'ben', 'two');
    await comment('leading', 'cat', 'three');
    await t.drain();
    await t.clock.advance(10 * MIN);
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['2 comments by 2 people: two, three', 'First: hello']);
  });

  it('after a batch, data is the activities\' data merged in order, scalars only', async () => {
    await t.knock.workflows.trigger('merged', { recipients: ['ada'], data: { title: 'old', count: 1, nested: { x: 1 } } });
    await t.clock.advance(1000);
    await t.knock.workflows.trigger('merged', { recipients: ['ada'], data: { title: 'new' } });
    await t.drain();
    await t.clock.advance(10 * MIN);
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['new / 1 / dropped']);
  });

  it('cancelling a member removes its activity; the batch still flushes the rest, or nothing when none remain', async () => {
    await t.knock.workflows.trigger('comments', { recipients: ['ada'], actor: 'ann', data: { comment: 'keep' }, cancellation_key: 'c-keep' });
    await t.knock.workflows.trigger('comments', { recipients: ['ada'], actor: 'ben', data: { comment: 'drop' }, cancellation_key: 'c-drop' });
    await t.knock.workflows.trigger('comments', { recipients: ['bob'], actor: 'ben', data: { comment: 'gone' }, cancellation_key: 'c-gone' });
    await t.drain();
    await t.knock.workflows.cancel('comments', { cancellation_key: 'c-drop' });
    await t.knock.workflows.cancel('comments', { cancellation_key: 'c-gone' });
    await t.clock.advance(10 * MIN);
    await t.drain();
    expect(await feedTexts(t, 'ada')).toEqual(['1 comments by 1 people: keep']);
    expect(await feedTexts(t, 'bob')).toEqual([]);
  });

  it('the batched message lists its activities and actors (messages.listActivities, feed totals)', async () => {
    await comment('comments', 'ann', 'x');
    await comment('comments', 'ben', 'y');
    await t.drain();
    await t.clock.advance(10 * MIN);
    await t.drain();
    const [message] = (await t.knock.users.listMessages('ada')).items;
    expect((message.actors ?? []).map((a) => (typeof a === 'string' ? a : a.id)).sort()).toEqual(['ann', 'ben']);
    const activities = await http(t, 'GET', `/v1/messages/${message.id}/activities`);
    expect(activities.body.items.map((a: { data: { comment: string } }) => a.data.comment)).toEqual(['x', 'y']);
    expect(activities.body.items[0]).toMatchObject({ __typename: 'Activity', actor: { id: 'ann' }, recipient: { id: 'ada' } });
    const feed = await http(t, 'GET', '/v1/users/ada/feeds/in-app-feed');
    expect(feed.body.entries[0]).toMatchObject({ total_activities: 2, total_actors: 2 });
    expect(feed.body.entries[0].activities.map((a: { data: { comment: string } }) => a.data.comment)).toEqual(['x', 'y']);
  });
});
