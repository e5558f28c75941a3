/**
 * Inserts message rows straight into a test Herald's database. It stands in for triggering a
 * workflow so message and feed tests can set up precise states (timestamps, tenants,
 * categories, engagement, sandboxed messages) without driving the engine through them.
 * Rows look like what the engine writes for an in-app step: content blocks, run ids, actors,
 * and the `message.queued` / `message.delivered` events.
 */
import { randomUUID } from 'node:crypto';
import KSUID from 'ksuid';
import { toEntityKey, type RecipientReference } from '../../src/domain/recipients.js';
import type { TestHerald } from './harness.js';

/** The workflow version (a sha256, as the engine records it) of every test message. */
export const TEST_WORKFLOW_SHA = '5e3b9a7c0d1f42e6a8b4c2d0e9f71635' + '0'.repeat(32);
/** How Knock's `source.version_id` names that version. */
export const TEST_VERSION_ID = '5e3b9a7c-0d1f-42e6-a8b4-c2d0e9f71635';

export interface TestMessageSpec {
  /** A user id, or `{id, collection}` for an object recipient. */
  recipient: RecipientReference;
  /** Channel key; defaults to the seeded in-app feed. */
  channel?: string;
  workflow?: string;
  categories?: string[];
  tenant?: string | null;
  actors?: RecipientReference[];
  status?: string;
  data?: Record<string, unknown>;
  body?: string;
  actionUrl?: string;
  seen?: boolean;
  read?: boolean;
  archived?: boolean;
  interacted?: boolean;
  workflowRunId?: string;
}

export interface TestMessage {
  id: string;
  workflowRunId: string;
  recipientRunId: string;
  insertedAt: Date;
}

/**
 * Inserts one message at the test clock's current time, then moves the clock on one second, so
 * messages created one after another are strictly ordered (the last one is the newest).
 */
export async function createMessage(t: TestHerald, spec: TestMessageSpec): Promise<TestMessage> {
  const now = t.clock.now();
  // Message ids are time-ordered KSUIDs, as the engine makes them.
  const id = KSUID.randomSync(now).string;
  const recipient = toEntityKey(spec.recipient);
  const workflowRunId = spec.workflowRunId ?? randomUUID();
  const recipientRunId = randomUUID();
  const body = spec.body ?? `Hello from ${spec.workflow ?? 'welcome'}`;
  const blocks: unknown[] = [{ name: 'body', type: 'markdown', content: body, rendered: `<p>${body}</p>` }];
  if (spec.actionUrl) blocks.push({ name: 'action_url', type: 'text', content: spec.actionUrl, rendered: spec.actionUrl });
  const status = spec.status ?? 'delivered';
  const at = (flag: boolean | undefined) => (flag ? now : null);
  await t.db.query(
    `INSERT INTO messages (id, channel_id, recipient_collection, recipient_id, workflow_key, workflow_sha, categories,
                           workflow_run_id, recipient_run_id, step_ref, tenant_id, actors, status, data, content,
                           seen_at, read_at, interacted_at, archived_at, inserted_at, updated_at)
     VALUES ($1, (SELECT id FROM channels WHERE key = $2), $3, $4, $5, $19, $6, $7, $8, 'in_app_feed', $9, $10, $11, $12, $13,
             $14, $15, $16, $17, $18, $18)`,
    [id, spec.channel ?? 'in-app-feed', recipient.collection, recipient.id, spec.workflow ?? 'welcome',
      JSON.stringify(spec.categories ?? []), workflowRunId, recipientRunId, spec.tenant ?? null,
      JSON.stringify(spec.actors ?? []), status, JSON.stringify(spec.data ?? {}), JSON.stringify({ blocks }),
      at(spec.seen), at(spec.read || spec.interacted), at(spec.interacted), at(spec.archived), now, TEST_WORKFLOW_SHA],
  );
  const events = status === 'not_sent' ? ['message.not_sent'] : ['message.queued', 'message.delivered'];
  for (const type of events) {
    await t.db.query('INSERT INTO message_events (id, message_id, type, inserted_at) VALUES ($1, $2, $3, $4)', [randomUUID(), id, type, now]);
  }
  t.clock.advance(1000);
  return { id, workflowRunId, recipientRunId, insertedAt: now };
}

/** Creates messages in order: the first is the oldest. */
export async function createMessages(t: TestHerald, specs: TestMessageSpec[]): Promise<TestMessage[]> {
  const out: TestMessage[] = [];
  for (const spec of specs) out.push(await createMessage(t, spec));
  return out;
}

/** Adds a second channel (for "other channels are not in this feed" scenarios). */
export async function createChannel(t: TestHerald, key: string, type = 'in_app_feed'): Promise<string> {
  const rows = await t.db.query<{ id: string }>(
    `INSERT INTO channels (id, key, type, provider, name) VALUES (gen_random_uuid(), $1, $2, 'knock_in_app', $1) RETURNING id`,
    [key, type],
  );
  return rows[0].id;
}

export async function channelId(t: TestHerald, key = 'in-app-feed'): Promise<string> {
  const rows = await t.db.query<{ id: string }>('SELECT id FROM channels WHERE key = $1', [key]);
  return rows[0].id;
}
