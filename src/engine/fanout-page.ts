import { randomUUID } from 'node:crypto';
import type { FanoutPage, NewFanoutRun } from '../domain/fanout.js';
import type { RunOutcome, RunRow, RunState } from '../domain/run.js';
import type { WorkflowDefinition } from '../domain/workflow.js';
import { planRuns, type AdvanceDeps } from './advance-batch.js';
import { cachedDefinition } from './caches.js';
import { programOf } from './program.js';

/**
 * How long a process holds a fan-out page while it plans and commits it. A page whose process
 * died is taken over once this has passed (one whose planning failed is given back at once); a
 * page normally takes well under a second.
 */
export const FANOUT_LEASE_MS = 30_000;

/**
 * Pages this process plans and commits at once: the next page is planned while the one before
 * it commits (Node and the render processes on one core, PostgreSQL on the other). Three made
 * no difference on two cores: planning is then bound by the main thread's CPU.
 */
const PAGES_IN_FLIGHT = 2;

/**
 * Step types whose planning reads but never writes (messages and delivery jobs are written by
 * the commit, with the run): runs of a workflow made only of these are created already
 * advanced. Batch, throttle and trigger frequency claim rows while planning, fetch calls out,
 * update_entity and trigger_workflow have effects: their runs start queued, as before.
 */
const PLANNED_AT_FANOUT = new Set(['channel', 'delay', 'update_data']);

/** Whether a fan-out creates this workflow's runs already advanced (see PLANNED_AT_FANOUT). */
export function plannedAtFanout(def: WorkflowDefinition): boolean {
  if ((def.trigger_frequency ?? 'every_trigger') !== 'every_trigger') return false;
  return programOf(def).every((ins) => ins.kind !== 'step' || PLANNED_AT_FANOUT.has(ins.step.type));
}

export interface FanoutPageOutcome {
  /** Subscribers read in the pages committed. */
  read: number;
  /** Runs created queued, for the run workers (their workflow is not planned at fan-out, or planning failed). */
  queued: number;
}

/** A page planned and ready to commit. */
interface PlannedPage {
  page: FanoutPage;
  rows: NewFanoutRun[];
  outcomes: RunOutcome[];
  settled(committed: string[]): void;
}

/**
 * Plans and commits up to `maxPages` fan-out pages, any number of processes at once. Each page's
 * subscribers' runs are planned in memory as a worker would advance them (advance-batch.ts),
 * outside any transaction, and created in one statement where that advance left them: a
 * subscriber's in-app message is written with its run, without the run ever being queued,
 * claimed and checkpointed (three writes of the run row and its indexes become one). A page's
 * commit holds only while this process's lease on it does, so a cancel that arrived meanwhile
 * (it ends the leases) or a takeover after this process stalled makes the page plan again from
 * what is stored. Returns null when there was no page to plan.
 */
export async function expandFanoutPages(deps: AdvanceDeps, owner: string, pageSize: number, maxPages: number): Promise<FanoutPageOutcome | null> {
  const total: FanoutPageOutcome = { read: 0, queued: 0 };
  const inFlight = new Set<Promise<void>>();
  const failures: unknown[] = [];
  let claimed = 0;
  try {
    for (; claimed < maxPages; claimed++) {
      const now = deps.clock.now();
      const page = await deps.store.claimFanoutPage(owner, pageSize, now, new Date(now.getTime() + FANOUT_LEASE_MS));
      if (!page) break;
      const work = planPage(deps, page, owner)
        .then((planned) => commit(deps, owner, planned, total))
        .catch(async (err) => {
          failures.push(err);
          // Best effort: the next claim retries the page at once rather than after its lease.
          await deps.store.releaseFanoutPage(owner, page).catch(() => {});
        })
        .finally(() => { inFlight.delete(work); });
      inFlight.add(work);
      // The next page is claimed and planned while this one commits.
      if (inFlight.size >= PAGES_IN_FLIGHT) await Promise.race(inFlight);
      if (failures.length > 0) break;
    }
  } finally {
    // Also when a claim failed: no page of this tick keeps working after it returns.
    await Promise.all(inFlight);
  }
  if (failures.length > 0) throw failures[0];
  return claimed === 0 ? null : total;
}

async function commit(deps: AdvanceDeps, owner: string, planned: PlannedPage, total: FanoutPageOutcome): Promise<void> {
  let committed: string[] | null = null;
  try {
    committed = await deps.store.commitFanoutPage(owner, planned.page, planned.rows, planned.outcomes, deps.clock.now());
  } finally {
    planned.settled(committed ?? []);
  }
  // null: a cancel or a takeover ended the lease, and the page wrote nothing.
  if (committed === null) return;
  const created = new Set(committed);
  total.read += planned.page.subscribers.length;
  total.queued += planned.rows.filter((r) => r.status === 'queued' && created.has(r.id)).length;
}

async function planPage(deps: AdvanceDeps, page: FanoutPage, owner: string): Promise<PlannedPage> {
  const now = deps.clock.now();
  const runs = pageRuns(page, now, owner);
  const live = runs.filter((r) => r.status !== 'cancelled');
  const def = live.length > 0 ? await cachedDefinition(deps.store, deps.caches, page.trigger.workflow_sha) : null;
  const plan = def && plannedAtFanout(def) ? await planRuns(deps, live) : null;
  const planned = new Map<string, RunOutcome>();
  for (const o of plan?.outcomes ?? []) {
    // An outcome with effects, or none at all (its planning failed), is left to a worker.
    if (!o.effects?.length && o.status !== 'processing') planned.set(o.runId, o);
  }
  const rows = runs.map((run): NewFanoutRun => {
    const o = planned.get(run.id);
    if (o) return { id: run.id, collection: run.recipient_collection, recipientId: run.recipient_id, status: o.status, position: o.position, state: o.state, wakeAt: o.wakeAt, data: o.data, errorCount: o.errorCount };
    return { id: run.id, collection: run.recipient_collection, recipientId: run.recipient_id, status: run.status === 'cancelled' ? 'cancelled' : 'queued', position: 0, state: run.state, wakeAt: run.status === 'cancelled' ? null : now };
  });
  return { page, rows, outcomes: [...planned.values()], settled: (ids) => plan?.settled(ids) };
}

/**
 * The page's runs as a worker would have claimed them: the trigger's actor is not notified of
 * its own trigger, and subscribers a cancel named start cancelled.
 */
function pageRuns(page: FanoutPage, now: Date, owner: string): RunRow[] {
  const t = page.trigger;
  const runs: RunRow[] = [];
  for (const s of page.subscribers) {
    if (t.actor && t.actor.collection === s.collection && t.actor.id === s.id) continue;
    const state: RunState = { settings: t.settings ?? undefined, subscription: { object: page.object, properties: s.properties } };
    runs.push({
      id: randomUUID(), workflow_run_id: t.id, workflow_key: t.workflow_key, workflow_sha: t.workflow_sha,
      recipient_collection: s.collection, recipient_id: s.id, actor: t.actor, tenant_id: t.tenant_id,
      cancellation_key: t.cancellation_key, data: t.data, status: s.cancelled ? 'cancelled' : 'processing', position: 0, state,
      error_count: 0, attempts: 1, wake_at: now, lease_owner: owner, source: t.source, inserted_at: now, updated_at: now,
    });
  }
  return runs;
}
