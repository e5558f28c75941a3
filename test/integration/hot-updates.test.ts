/**
 * Settling a delivery updates its message in place (issue 12, email): the update is HOT, so it
 * writes no entry in any of the message's indexes. The provider's id for the message is kept in
 * message_external_ids (migration 031), and `messages` leaves room on its pages (fillfactor) for
 * the updated version. Reintroducing an index over a column the settle writes (as
 * messages_external_id_idx was), or filling the pages again, makes every such update a new
 * index entry in each of the message's indexes, and this test fail.
 * PostgreSQL only: PGlite does not flush the pg_stat counters this test reads.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestHerald, type TestHerald } from '../support/harness.js';
import { LoopbackSmtp } from '../support/smtp-server.js';
import { idleTableCounters } from '../support/pg-counters.js';

const mail = { key: 'mail', name: 'Mail', steps: [{ ref: 'email', type: 'channel', channel_key: 'postal', template: { subject: 'Hello', text_body: 'Hello {{ recipient.name }}' } }] };

describe.skipIf(!process.env.DATABASE_URL)('message updates in place (postgres)', () => {
  let t: TestHerald;
  let smtp: LoopbackSmtp;
  afterEach(async () => {
    await t.close();
    await smtp.close();
  });

  it('an email sent over SMTP moves its message to sent without a new index entry', async () => {
    smtp = await new LoopbackSmtp('pw').start();
    t = await startTestHerald('postgres', {
      workflows: [mail],
      channels: [{ key: 'postal', type: 'email', provider: 'smtp', settings: smtp.settings() }],
      rateLimits: { perKey: 0, perUser: 0 },
    });
    const users = Array.from({ length: 12 }, (_, i) => `reader-${i}`);
    for (const id of users) await t.knock.users.update(id, { name: id, email: `${id}@example.com` } as any);
    // One email at a time: each settle updates one message, as a quiet server's do.
    for (const id of users) {
      await t.knock.workflows.trigger('mail', { recipients: [id] });
      await t.drain();
    }
    for (const id of users) expect((await t.knock.users.listMessages(id)).items.map((m) => m.status)).toEqual(['sent']);
    expect(smtp.received).toHaveLength(users.length);

    const { n_tup_upd: updates, n_tup_hot_upd: hot } = (await idleTableCounters(t.db)).messages;
    expect(updates).toBeGreaterThanOrEqual(users.length);
    expect(hot).toBe(updates);
  });
});
