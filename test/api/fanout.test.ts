import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { EMBEDDED_FANOUT_PAGES_PER_TICK, FANOUT_PAGES_PER_TICK } from '../../src/queue/fanout-task.js';

const announce = {
  key: 'announce',
  name: 'Announce',
  steps: [{
    ref: 'feed', type: 'channel', channel_key: 'in-app-feed',
    template: { markdown_body: '{{ recipient.id }}: {{ recipient.subscription.role | default: "direct" }} of {{ recipient.subscription.object.name | default: "-" }}' },
  }],
};
const later = {
  key: 'later',
  name: 'Later',
  steps: [
    { ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'minutes', value: 5 } } },
    { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Later, {{ recipient.id }}' } },
  ],
};

const apollo = { id: 'apollo', collection: 'projects' };

async function feedTexts(t: TestHerald, user: string): Promise<string[]> {
  const feed = await http(t, 'GET', `/v1/users/${user}/feeds/in-app-feed`);
  return feed.body.entries.map((e: { blocks: { rendered: string }[] }) => e.blocks[0].rendered.replace(/<[^>]+>/g, '').trim());
}

async function runsOf(t: TestHerald, workflow: string) {
  return (await http(t, 'GET', `/v1/workflow_recipient_runs?workflow=${workflow}`)).body.items as { recipient: unknown; status: string }[];
}

const who = (r: unknown) => (typeof r === 'string' ? r : `${(r as { collection: string }).collection}/${(r as { id: string }).id}`);

describe.each(engines)('object recipients fan out to subscribers (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows: [announce, later], fanoutPageSize: 2 }); });
  afterEach(async () => { await t.close(); });

  it('notifies the object and every subscriber, whose runs see recipient.subscription', async () => {
    await t.knock.objects.set('projects', 'apollo', { name: 'Apollo' });
    await t.knock.objects.addSubscriptions('projects', 'apollo', { recipients: ['ada', 'bob', 'cy'], properties: { role: 'watcher' } });
    await t.knock.workflows.trigger('announce', { recipients: [apollo] });
    await t.drain();
    expect((await runsOf(t, 'announce')).map((r) => who(r.recipient)).sort()).toEqual(['ada', 'bob', 'cy', 'projects/apollo']);
    expect(await feedTexts(t, 'ada')).toEqual(['ada: watcher of Apollo']);
    expect(await feedTexts(t, 'cy')).toEqual(['cy: watcher of Apollo']);
  });

  it('reaches each recipient once, however many subscriptions or direct mentions lead to it', async () => {
    await t.knock.objects.addSubscriptions('projects', 'apollo', { recipients: ['ada', 'bob'] });
    await t.knock.objects.addSubscriptions('projects', 'gemini', { recipients: ['ada', 'cy'] });
    await t.knock.workflows.trigger('announce', { recipients: ['bob', apollo, { id: 'gemini', collection: 'projects' }] });
    await t.drain();
    const runs = (await runsOf(t, 'announce')).map((r) => who(r.recipient)).sort();
    expect(runs).toEqual(['ada', 'bob', 'cy', 'projects/apollo', 'projects/gemini']);
    expect(await feedTexts(t, 'ada')).toHaveLength(1);
    // bob was a direct recipient: his run is the direct one, without a subscription.
    expect(await feedTexts(t, 'bob')).toEqual(['bob: direct of -']);
  });

  it('leaves out the actor when the actor subscribes to the object', async () => {
    await t.knock.users.update('ada', { name: 'Ada' });
    await t.knock.objects.addSubscriptions('projects', 'apollo', { recipients: ['ada', 'bob'] });
    await t.knock.workflows.trigger('announce', { recipients: [apollo], actor: 'ada' });
    await t.drain();
    expect((await runsOf(t, 'announce')).map((r) => who(r.recipient)).sort()).toEqual(['bob', 'projects/apollo']);
    expect(await feedTexts(t, 'ada')).toEqual([]);
  });

  it('follows nested subscriptions to depth 2 (parent -> child -> user) and no deeper', async () => {
    await t.knock.objects.set('teams', 'design', { name: 'Design' });
    await t.knock.objects.addSubscriptions('orgs', 'acme', { recipients: [{ id: 'design', collection: 'teams' }, 'ada'] });
    await t.knock.objects.addSubscriptions('teams', 'design', { recipients: ['carol', { id: 'icons', collection: 'squads' }], properties: { role: 'member' } });
    await t.knock.objects.addSubscriptions('squads', 'icons', { recipients: ['dave'] });
    await t.knock.workflows.trigger('announce', { recipients: [{ id: 'acme', collection: 'orgs' }] });
    await t.drain();
    const runs = (await runsOf(t, 'announce')).map((r) => who(r.recipient)).sort();
    expect(runs).toEqual(['ada', 'carol', 'orgs/acme', 'squads/icons', 'teams/design']);
    expect(await feedTexts(t, 'carol')).toEqual(['carol: member of Design']);
    expect(await feedTexts(t, 'dave')).toEqual([]);
  });

  it('a cancel while the fan-out is still expanding stops it: no subscriber is notified', async () => {
    // One background pass expands a tick's pages of two subscribers; four are still to come.
    const expandedInOnePass = (t.db.engine === 'pglite' ? EMBEDDED_FANOUT_PAGES_PER_TICK : FANOUT_PAGES_PER_TICK) * 2;
    const users = Array.from({ length: expandedInOnePass + 4 }, (_, i) => `u${String(i + 1).padStart(2, '0')}`);
    await t.knock.objects.addSubscriptions('projects', 'apollo', { recipients: users });
    await t.knock.workflows.trigger('later', { recipients: [apollo], cancellation_key: 'k1' });
    await t.herald.background.tick();
    expect(await runsOf(t, 'later')).toHaveLength(1 + expandedInOnePass);
    const cancel = await http(t, 'POST', '/v1/workflows/later/cancel', { cancellation_key: 'k1' });
    expect(cancel.status).toBe(204);
    expect(cancel.headers.get('x-herald-cancelled-runs')).toBe(String(1 + expandedInOnePass));
    await t.drain();
    await t.clock.advance(10 * 60_000);
    await t.drain();
    const runs = await runsOf(t, 'later');
    expect(runs).toHaveLength(1 + expandedInOnePass);
    expect(runs.every((r) => r.status === 'cancelled')).toBe(true);
    expect((await t.knock.messages.list()).items).toEqual([]);
  });

  it('a cancel naming some subscribers reaches the runs the fan-out creates after it', async () => {
    await t.knock.objects.addSubscriptions('projects', 'apollo', { recipients: ['u1', 'u2', 'u3', 'u4', 'u5'] });
    await t.knock.workflows.trigger('later', { recipients: [apollo], cancellation_key: 'k2' });
    await t.herald.background.tick();
    await t.knock.workflows.cancel('later', { cancellation_key: 'k2', recipients: ['u1', 'u4'] });
    await t.drain();
    await t.clock.advance(10 * 60_000);
    await t.drain();
    const runs = await runsOf(t, 'later');
    const status = Object.fromEntries(runs.map((r) => [who(r.recipient), r.status]));
    expect(status).toEqual({ 'projects/apollo': 'completed', u1: 'cancelled', u2: 'completed', u3: 'completed', u4: 'cancelled', u5: 'completed' });
    const notified = (await t.knock.messages.list()).items.map((m) => who(m.recipient)).sort();
    expect(notified).toEqual(['projects/apollo', 'u2', 'u3', 'u5']);
  });

  it('a trigger accepted after a cancel still fans out in full', async () => {
    await t.knock.objects.addSubscriptions('projects', 'apollo', { recipients: ['u1', 'u2', 'u3'] });
    await t.knock.workflows.cancel('later', { cancellation_key: 'k3' });
    await t.knock.workflows.trigger('later', { recipients: [apollo], cancellation_key: 'k3' });
    await t.drain();
    await t.clock.advance(10 * 60_000);
    await t.drain();
    expect((await t.knock.messages.list()).items).toHaveLength(4);
  });
});
