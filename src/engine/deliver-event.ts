import type { Clock } from '../domain/clock.js';
import { TENANTS, toEntityKey, type EntityKey } from '../domain/recipients.js';
import type { ReceivedEvent } from '../domain/run.js';
import { cachedDefinition, type EngineCaches } from './caches.js';
import type { WorkflowEventRequest } from './engine.js';
import { entityMapKey, type EngineStore } from './ports.js';
import { buildRunScope } from './run-scope.js';
import { eventMatches } from './steps/wait-for-event.js';

const PAGE = 500;

/**
 * Delivers an event to the runs paused on a wait_for_event step for it: each run's match
 * conditions are evaluated (event data as `data`, the run's recipient, actor and tenant), and
 * the runs that match are woken in one statement that re-checks, under the row lock, that they
 * are still waiting. Returns how many runs the event woke. Events are not stored: a run that
 * reaches its wait after the event was delivered does not see it.
 */
export async function deliverWorkflowEvent(
  deps: { store: EngineStore; clock: Clock; caches: EngineCaches; wakeWorkers: () => void },
  req: WorkflowEventRequest,
): Promise<number> {
  const now = deps.clock.now();
  const data = req.data ?? {};
  const received: ReceivedEvent = { event: req.event, data, received_at: now.toISOString() };
  const recipient = req.recipient ? toEntityKey(req.recipient) : null;
  let after: { collection: string; id: string; runId: string } | null = null;
  let woken = 0;
  for (;;) {
    const page = await deps.store.waitingRuns({ event: req.event, recipient, tenantId: req.tenant ?? null, now, after, limit: PAGE });
    if (page.length === 0) break;
    const keys: EntityKey[] = [];
    for (const run of page) {
      keys.push({ collection: run.recipient_collection, id: run.recipient_id });
      if (run.actor) keys.push(run.actor);
      if (run.tenant_id) keys.push({ collection: TENANTS, id: run.tenant_id });
      if (run.state?.subscription) keys.push(run.state.subscription.object);
    }
    const entities = await deps.store.entityProperties(keys);
    const matched: { runId: string; position: number }[] = [];
    for (const run of page) {
      const def = await cachedDefinition(deps.store, deps.caches, run.workflow_sha);
      if (!def) continue;
      const scope = buildRunScope(run, def, (k) => entities.get(entityMapKey(k)));
      if (eventMatches(run.state.event_wait?.match_conditions, { ...scope, data }, now)) matched.push({ runId: run.id, position: run.position });
    }
    woken += (await deps.store.wakeWaitingRuns(matched, received, now)).length;
    if (page.length < PAGE) break;
    const last = page[page.length - 1];
    after = { collection: last.recipient_collection, id: last.recipient_id, runId: last.id };
  }
  if (woken > 0) deps.wakeWorkers();
  return woken;
}
