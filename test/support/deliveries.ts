import { expect } from 'vitest';
import type { TestHerald } from './harness.js';
import { runDetail, runsOf } from './runs.js';

/** The one message a user has; fails the test when there is not exactly one. */
export async function onlyMessage(t: TestHerald, user: string) {
  const { items } = await t.knock.users.listMessages(user);
  expect(items).toHaveLength(1);
  return items[0];
}

/** A message's event types, oldest first. */
export async function eventTypes(t: TestHerald, messageId: string) {
  const { items } = await t.knock.messages.listEvents(messageId);
  return items.map((e) => e.type).reverse();
}

/** `[step_ref, reason]` of every skipped step of the workflow's newest run. */
export async function skipReasons(t: TestHerald, workflow: string) {
  const [run] = await runsOf(t, workflow);
  const detail = await runDetail(t, run.id);
  return detail.events.filter((e) => e.event === 'step_skipped').map((e) => [e.step_ref, e.data?.reason]);
}
