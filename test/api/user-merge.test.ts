import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Knock from '@knocklabs/node';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';

const hello = {
  key: 'hello',
  name: 'Hello',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'hi {{ recipient.id }}' } }],
};

describe.each(engines)('users.merge (%s)', (engine) => {
  let t: TestHerald;
  beforeEach(async () => { t = await startTestHerald(engine, { workflows: [hello] }); });
  afterEach(async () => { await t.close(); });

  it("folds the other user's properties under the target's and answers the merged User", async () => {
    await t.knock.users.update('ada', { name: 'Ada', plan: 'pro' });
    await t.knock.users.update('anon-1', { name: 'Anonymous', email: 'ada@example.com', created_at: '2025-01-01T00:00:00Z', referrer: 'ad' });
    t.clock.advance(1000);
    const merged = await t.knock.users.merge('ada', { from_user_id: 'anon-1' });
    expect(merged).toEqual({
      __typename: 'User', id: 'ada', name: 'Ada', plan: 'pro', email: 'ada@example.com', referrer: 'ad',
      phone_number: null, avatar: null, timezone: null,
      created_at: '2025-01-01T00:00:00.000Z', updated_at: '2026-03-01T12:00:01.000Z',
    });
    expect(await t.knock.users.get('ada')).toEqual(merged);
    await expect(t.knock.users.get('anon-1')).rejects.toBeInstanceOf(Knock.NotFoundError);
  });

  it('moves channel data and preference sets; where both have one, the target wins', async () => {
    await t.knock.users.setChannelData('ada', 'in-app-feed', { data: { tokens: ['ada-token'] } });
    await t.knock.users.setChannelData('anon-1', 'in-app-feed', { data: { tokens: ['anon-token'] } });
    await t.knock.users.setPreferences('ada', 'default', { workflows: { digest: false } });
    await t.knock.users.setPreferences('anon-1', 'default', { workflows: { digest: true, hello: false }, channel_types: { email: false } });
    await t.knock.users.setPreferences('anon-1', 'acme', { categories: { marketing: false } });
    await t.knock.users.merge('ada', { from_user_id: 'anon-1' });
    expect((await t.knock.users.getChannelData('ada', 'in-app-feed')).data).toEqual({ tokens: ['ada-token'] });
    const sets = await t.knock.users.listPreferences('ada');
    expect(Object.fromEntries(sets.map((s) => [s.id, { workflows: s.workflows, categories: s.categories, channel_types: s.channel_types }]))).toEqual({
      acme: { workflows: null, categories: { marketing: false }, channel_types: null },
      default: { workflows: { digest: false, hello: false }, categories: null, channel_types: { email: false } },
    });
  });

  it('moves subscriptions, keeping the target\'s when both subscribe to the same object', async () => {
    await t.knock.objects.set('projects', 'p1', { name: 'P1' });
    await t.knock.objects.set('projects', 'p2', { name: 'P2' });
    await t.knock.objects.addSubscriptions('projects', 'p1', { recipients: ['ada'], properties: { role: 'owner' } });
    await t.knock.objects.addSubscriptions('projects', 'p1', { recipients: ['anon-1'], properties: { role: 'viewer' } });
    await t.knock.objects.addSubscriptions('projects', 'p2', { recipients: ['anon-1'], properties: { role: 'viewer' } });
    await t.knock.users.merge('ada', { from_user_id: 'anon-1' });
    const subs = await t.knock.users.listSubscriptions('ada');
    expect(subs.entries.map((s) => [(s.object as any).id, s.properties]).sort()).toEqual([
      ['p1', { role: 'owner' }],
      ['p2', { role: 'viewer' }],
    ]);
    const p1 = await t.knock.objects.listSubscriptions('projects', 'p1');
    expect(p1.entries.map((s) => (s.recipient as any).id)).toEqual(['ada']);
  });

  it('moves audience memberships, one per audience and tenant', async () => {
    await t.knock.audiences.addMembers('vip', { members: [{ user: { id: 'ada' } }, { user: { id: 'anon-1' } }, { user: { id: 'anon-1' }, tenant: 'acme' }] });
    await t.knock.audiences.addMembers('beta', { members: [{ user: { id: 'anon-1' } }] });
    await t.knock.users.merge('ada', { from_user_id: 'anon-1' });
    const vip = await t.knock.audiences.listMembers('vip');
    expect(vip.entries.map((m) => [m.user_id, m.tenant])).toEqual([['ada', null], ['ada', 'acme']]);
    expect((await t.knock.audiences.listMembers('beta')).entries.map((m) => m.user_id)).toEqual(['ada']);
  });

  it("moves the other user's messages, so its feed items appear in the target's feed", async () => {
    await t.knock.users.update('ada', { name: 'Ada' });
    await t.knock.users.update('anon-1', { name: 'Anonymous' });
    await t.knock.workflows.trigger('hello', { recipients: ['anon-1'] });
    await t.drain();
    t.clock.advance(1000);
    await t.knock.workflows.trigger('hello', { recipients: ['ada'] });
    await t.drain();
    await t.knock.users.merge('ada', { from_user_id: 'anon-1' });
    const feed = await t.knock.users.feeds.listItems('ada', 'in-app-feed');
    expect(feed.entries.map((i: any) => i.blocks[0].content)).toEqual(['hi ada', 'hi anon-1']);
    expect((await t.knock.users.listMessages('ada')).items.every((m) => m.recipient === 'ada')).toBe(true);
  });

  it('answers 404 when either user does not exist and 422 for a merge into itself, changing nothing', async () => {
    await t.knock.users.update('ada', { name: 'Ada' });
    await expect(t.knock.users.merge('ada', { from_user_id: 'ghost' })).rejects.toBeInstanceOf(Knock.NotFoundError);
    const missingTarget = await http(t, 'POST', '/v1/users/ghost/merge', { from_user_id: 'ada' });
    expect(missingTarget.status).toBe(404);
    expect(missingTarget.body).toMatchObject({ code: 'resource_missing', message: 'User "ghost" was not found.' });
    const self = await http(t, 'POST', '/v1/users/ada/merge', { from_user_id: 'ada' });
    expect(self.status).toBe(422);
    expect(self.body.errors).toEqual([{ field: 'from_user_id', message: 'is the same as user_id', type: 'invalid' }]);
    expect(await t.knock.users.get('ada')).toMatchObject({ name: 'Ada' });
  });
});
