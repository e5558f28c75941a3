import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';

describe.each(engines)('object subscriptions (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine); });
  afterEach(async () => { await t.close(); });

  it('subscribes users and objects with properties, identifying inline recipients, and returns full resources', async () => {
    await t.knock.users.update('ada', { name: 'Ada' });
    const added = await t.knock.objects.addSubscriptions('projects', 'apollo', {
      recipients: ['ada', { id: 'bob', name: 'Bob', email: 'bob@example.com' }, { id: 'design', collection: 'teams', name: 'Design' }],
      properties: { role: 'watcher' },
    });
    expect(added).toHaveLength(3);
    expect(added[0]).toMatchObject({
      __typename: 'Subscription',
      object: { __typename: 'Object', id: 'apollo', collection: 'projects' },
      recipient: { __typename: 'User', id: 'ada', name: 'Ada' },
      properties: { role: 'watcher' },
    });
    expect(added[1].recipient).toMatchObject({ id: 'bob', name: 'Bob', email: 'bob@example.com' });
    expect(added[2].recipient).toMatchObject({ __typename: 'Object', id: 'design', collection: 'teams', properties: { name: 'Design' } });
    expect((await t.knock.users.get('bob')).email).toBe('bob@example.com');
  });

  it('upserts: subscribing again replaces the properties and keeps one subscription', async () => {
    await t.knock.objects.addSubscriptions('projects', 'apollo', { recipients: ['ada'], properties: { role: 'watcher' } });
    await t.clock.advance(1000);
    const again = await t.knock.objects.addSubscriptions('projects', 'apollo', { recipients: ['ada'], properties: { role: 'owner' } });
    expect(again[0].properties).toEqual({ role: 'owner' });
    const page = await t.knock.objects.listSubscriptions('projects', 'apollo');
    expect(page.entries).toHaveLength(1);
    expect(page.entries[0].properties).toEqual({ role: 'owner' });
    expect(page.entries[0].updated_at > page.entries[0].inserted_at).toBe(true);
  });

  it("lists an object's subscribers newest first, pages through them, and filters by recipient", async () => {
    for (const id of ['u1', 'u2', 'u3']) {
      await t.knock.objects.addSubscriptions('projects', 'apollo', { recipients: [id] });
      await t.clock.advance(1000);
    }
    const first = await t.knock.objects.listSubscriptions('projects', 'apollo', { page_size: 2 });
    expect(first.entries.map((s) => s.recipient.id)).toEqual(['u3', 'u2']);
    expect(first.page_info.after).toBeTruthy();
    const second = await t.knock.objects.listSubscriptions('projects', 'apollo', { page_size: 2, after: first.page_info.after! });
    expect(second.entries.map((s) => s.recipient.id)).toEqual(['u1']);
    expect(second.page_info.after).toBeNull();
    const all: string[] = [];
    for await (const s of t.knock.objects.listSubscriptions('projects', 'apollo', { page_size: 1 })) all.push(s.recipient.id);
    expect(all).toEqual(['u3', 'u2', 'u1']);
    const only = await t.knock.objects.listSubscriptions('projects', 'apollo', { recipients: ['u1', 'u3'] });
    expect(only.entries.map((s) => s.recipient.id)).toEqual(['u3', 'u1']);
  });

  it('lists what a recipient subscribes to: users.listSubscriptions and mode=recipient for objects', async () => {
    await t.knock.objects.addSubscriptions('projects', 'apollo', { recipients: ['ada', { id: 'design', collection: 'teams' }] });
    await t.clock.advance(1000);
    await t.knock.objects.addSubscriptions('projects', 'gemini', { recipients: ['ada', { id: 'design', collection: 'teams' }] });
    const ada = await t.knock.users.listSubscriptions('ada');
    expect(ada.entries.map((s) => s.object.id)).toEqual(['gemini', 'apollo']);
    const filtered = await t.knock.users.listSubscriptions('ada', { objects: [{ id: 'apollo', collection: 'projects' }] });
    expect(filtered.entries.map((s) => s.object.id)).toEqual(['apollo']);
    const team = await t.knock.objects.listSubscriptions('teams', 'design', { mode: 'recipient' });
    expect(team.entries.map((s) => `${s.object.collection}/${s.object.id}`)).toEqual(['projects/gemini', 'projects/apollo']);
  });

  it("includes each subscriber's preference sets when asked", async () => {
    await t.knock.users.update('ada', { preferences: { default: { channel_types: { email: false } } } });
    await t.knock.objects.addSubscriptions('projects', 'apollo', { recipients: ['ada'] });
    const page = await http(t, 'GET', '/v1/objects/projects/apollo/subscriptions?include[]=preferences');
    expect(page.body.entries[0].recipient.preferences.default).toMatchObject({ id: 'default', channel_types: { email: false } });
  });

  it('unsubscribes: the deleted subscriptions come back and are gone from the lists', async () => {
    await t.knock.objects.addSubscriptions('projects', 'apollo', { recipients: ['ada', 'bob'], properties: { role: 'watcher' } });
    const deleted = await t.knock.objects.deleteSubscriptions('projects', 'apollo', { recipients: ['ada', 'nobody'] });
    expect(deleted.map((s) => s.recipient.id)).toEqual(['ada']);
    expect(deleted[0].properties).toEqual({ role: 'watcher' });
    const left = await t.knock.objects.listSubscriptions('projects', 'apollo');
    expect(left.entries.map((s) => s.recipient.id)).toEqual(['bob']);
  });

  it('deleting a subscriber or the object removes its subscriptions', async () => {
    await t.knock.objects.addSubscriptions('projects', 'apollo', { recipients: ['ada', 'bob'] });
    await t.knock.users.delete('bob');
    expect((await t.knock.objects.listSubscriptions('projects', 'apollo')).entries.map((s) => s.recipient.id)).toEqual(['ada']);
    await t.knock.objects.delete('projects', 'apollo');
    expect((await t.knock.users.listSubscriptions('ada')).entries).toEqual([]);
  });

  it('rejects more than 100 recipients per call, an object subscribing to itself, and $-collections', async () => {
    const many = await http(t, 'POST', '/v1/objects/projects/apollo/subscriptions', { recipients: Array.from({ length: 101 }, (_, i) => `u${i}`) });
    expect(many.status).toBe(422);
    expect(many.body.errors[0].field).toMatch(/recipients/);
    const self = await http(t, 'POST', '/v1/objects/projects/apollo/subscriptions', { recipients: [{ id: 'apollo', collection: 'projects' }] });
    expect(self.status).toBe(422);
    expect(self.body.code).toBe('invalid_params');
    const reserved = await http(t, 'POST', '/v1/objects/$tenants/acme/subscriptions', { recipients: ['ada'] });
    expect(reserved.status).toBe(422);
  });
});
