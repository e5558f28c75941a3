import { http, type TestHerald } from './harness.js';

/** Text of a user's in-app feed entries, newest first, with markup stripped. */
export async function feedTexts(t: TestHerald, user: string): Promise<string[]> {
  const feed = await http(t, 'GET', `/v1/users/${encodeURIComponent(user)}/feeds/in-app-feed`);
  return feed.body.entries.map((e: { blocks: { rendered: string }[] }) => e.blocks[0].rendered.replace(/<[^>]+>/g, '').trim());
}

export interface RunSummary {
  id: string;
  status: string;
  recipient: unknown;
  workflow_run_id: string;
  trigger_source: Record<string, unknown>;
}

/** Runs of a workflow, newest first. */
export async function runsOf(t: TestHerald, workflow: string): Promise<RunSummary[]> {
  return (await http(t, 'GET', `/v1/workflow_recipient_runs?workflow=${workflow}`)).body.items;
}

/** A run with its events. */
export async function runDetail(t: TestHerald, id: string): Promise<{ status: string; events: { event: string; step_ref: string | null; status: string; data: Record<string, unknown> | null }[] }> {
  return (await http(t, 'GET', `/v1/workflow_recipient_runs/${id}`)).body;
}
