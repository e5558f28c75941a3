import type { NewMessage, RunRow } from '../domain/run.js';
import type { WorkflowDefinition } from '../domain/workflow.js';
import { cachedDefinition, type EngineCaches } from './caches.js';
import type { EngineStore } from './ports.js';
import type { MessageRef, RunScope } from './run-scope.js';

/**
 * `refs.<step_ref>.*` for message-status conditions (knock-api.md §5.13): each run sees the
 * messages its channel steps created, with their current delivery and engagement status, so a
 * step can run "only if the in-app message was not read". They are loaded for a whole claimed
 * batch in one query, and only when some run's workflow mentions `refs.` at all; messages made
 * earlier in the same advance are added as they are planned.
 */

const usage = new WeakMap<WorkflowDefinition, boolean>();

/** Whether any condition of the workflow (trigger, steps, branches) reads `refs.`. */
export function usesMessageRefs(def: WorkflowDefinition): boolean {
  let uses = usage.get(def);
  if (uses === undefined) {
    uses = mentionsRefs(def);
    usage.set(def, uses);
  }
  return uses;
}

const REFS = /^\s*(\{\{\s*)?refs\./;

function mentionsRefs(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(mentionsRefs);
  if (typeof node !== 'object' || node === null) return false;
  const o = node as Record<string, unknown>;
  if ('operator' in o && [o.variable, o.argument].some((v) => typeof v === 'string' && REFS.test(v))) return true;
  return Object.entries(o).some(([k, v]) => k !== 'template' && typeof v === 'object' && mentionsRefs(v));
}

/** Run id -> step ref -> message, for the runs whose workflow uses message-status conditions. */
export async function loadMessageRefs(store: EngineStore, caches: EngineCaches, runs: RunRow[]): Promise<Map<string, Record<string, MessageRef>>> {
  const shas = [...new Set(runs.map((r) => r.workflow_sha))];
  // Definitions are cached by sha, so this is normally free; a failure is the planner's to report.
  const defs = await Promise.all(shas.map((sha) => cachedDefinition(store, caches, sha).catch(() => null)));
  const using = new Set(shas.filter((_, i) => defs[i] !== null && usesMessageRefs(defs[i]!)));
  const ids = runs.filter((r) => using.has(r.workflow_sha)).map((r) => r.id);
  const byRun = new Map<string, Record<string, MessageRef>>();
  if (ids.length === 0) return byRun;
  for (const m of await store.runMessages(ids)) {
    const refs = byRun.get(m.recipient_run_id) ?? {};
    refs[m.step_ref] = { message_id: m.message_id, delivery_status: m.status, engagement_status: m.engagement_statuses };
    byRun.set(m.recipient_run_id, refs);
  }
  return byRun;
}

/** Makes messages planned in this advance visible to the conditions of the steps after them. */
export function addMessageRefs(scope: RunScope, messages: NewMessage[]): void {
  if (messages.length === 0) return;
  const refs = { ...scope.refs };
  for (const m of messages) refs[m.stepRef] = { message_id: m.id, delivery_status: m.status, engagement_status: [] };
  scope.refs = refs;
}
