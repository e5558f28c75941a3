/**
 * Runs for the dashboard: the list (with a cancellation-key filter the public list lacks), one
 * run as a timeline with everything that explains it (halt reason, batch, messages, preference
 * decisions, fetches; secrets redacted), and cancelling one run.
 */
import { Type } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import type { Step, WorkflowDefinition } from '../../domain/workflow.js';
import { batchActivities } from '../../store/batches.js';
import { batchesOfRun, cancelOneRun, haltReasons, listDashboardRuns } from '../../store/dashboard-runs.js';
import { messagesOfRun } from '../../store/dashboard-messages.js';
import { getRun, listRunEvents, type RunEventRow } from '../../store/run-queries.js';
import { getWorkflowVersion } from '../../store/workflows.js';
import { toReference } from '../../domain/recipients.js';
import type { ApiDeps, App } from '../types.js';
import { dashboardContext } from './context.js';
import { dashboardErrors } from './errors.js';
import { parseList, parseRecipient } from './query-params.js';
import { redactSecrets } from './redact.js';
import { RunCancelAnswer, RunDetail, RunList, RunListQuery } from './schemas.js';
import { dashboardRun, messageSummary } from './serializers.js';

const RUN_STATUSES = ['queued', 'processing', 'paused', 'completed', 'cancelled'] as const;
const RunParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/** Every step of a definition, branches included, by ref. */
function stepsByRef(def: WorkflowDefinition | null): Map<string, Step> {
  const out = new Map<string, Step>();
  const walk = (steps: unknown) => {
    if (!Array.isArray(steps)) return;
    for (const s of steps as Step[]) {
      out.set(s.ref, s);
      for (const b of [...((s as { branches?: unknown[] }).branches ?? []), ...((s as { cohort_branches?: unknown[] }).cohort_branches ?? [])]) walk((b as { steps?: unknown }).steps);
    }
  };
  walk(def?.steps);
  return out;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

function timelineEntry(e: RunEventRow) {
  const data = e.data ?? null;
  const reason = str(data?.reason) ?? str(data?.error);
  const late = data?.late_ms;
  return {
    at: new Date(e.inserted_at).toISOString(),
    type: e.event,
    ...(e.step_ref ? { step_ref: e.step_ref } : {}),
    ...(e.step_type ? { step_type: e.step_type } : {}),
    outcome: e.status,
    ...(reason !== undefined ? { reason } : {}),
    ...(typeof late === 'number' ? { late_ms: late } : {}),
    ...(e.attempt !== null ? { attempt: e.attempt } : {}),
    detail: redactSecrets(data),
  };
}

const FETCH_REQUEST_FIELDS = ['method', 'url', 'attempt'];

export function registerRunRoutes(app: App, deps: ApiDeps): void {
  const contextOf = dashboardContext(deps);
  const config = { auth: 'secret' as const, dashboard: true };

  app.get('/dashboard/api/runs', {
    config,
    schema: { tags: ['dashboard'], querystring: RunListQuery, response: { 200: RunList } },
  }, async (request) => {
    const { db } = await contextOf(request);
    const q = request.query;
    const pageSize = q.page_size ?? 50;
    const page = await listDashboardRuns(db, {
      workflow: q.workflow,
      statuses: parseList(q.status, RUN_STATUSES, 'status'),
      tenant: q.tenant,
      recipient: parseRecipient(q.recipient),
      cancellationKey: q.cancellation_key,
      from: q.from ? new Date(q.from) : undefined,
      to: q.to ? new Date(q.to) : undefined,
    }, { after: q.after, pageSize });
    const halted = await haltReasons(db, page.runs.map((r) => r.id));
    return { items: page.runs.map((r) => dashboardRun(r, halted.get(r.id) ?? null)), page_info: { after: page.after, before: null, page_size: pageSize } };
  });

  app.get('/dashboard/api/runs/:id', {
    config,
    schema: { tags: ['dashboard'], params: RunParams, response: { 200: RunDetail } },
  }, async (request) => {
    const { db } = await contextOf(request);
    const run = await getRun(db, request.params.id);
    if (!run) throw errors.notFound(`Workflow recipient run "${request.params.id}"`);
    const [events, halted, batches, messages, def] = await Promise.all([
      listRunEvents(db, run.id), haltReasons(db, [run.id]), batchesOfRun(db, run.id), messagesOfRun(db, run.id), getWorkflowVersion(db, run.workflow_sha),
    ]);
    const steps = stepsByRef(def);
    const channelKeyOf = (ref: string | null) => {
      const step = ref ? steps.get(ref) as { channel_key?: unknown } | undefined : undefined;
      return typeof step?.channel_key === 'string' ? step.channel_key : null;
    };

    // Each channel step's preference decision: a preference skip records the explanation; a
    // step that went on to create messages was allowed.
    const preferenceExplanations = [];
    for (const e of events) {
      if (e.step_type !== 'channel' || !e.step_ref) continue;
      const data = e.data ?? {};
      if (e.event === 'step_skipped' && typeof data.allowed === 'boolean') {
        preferenceExplanations.push({ step_ref: e.step_ref, channel_key: channelKeyOf(e.step_ref), allowed: data.allowed, explanation: redactSecrets(data) });
      } else if (e.event === 'step_completed') {
        preferenceExplanations.push({ step_ref: e.step_ref, channel_key: channelKeyOf(e.step_ref), allowed: true, explanation: { allowed: true, reason: null } });
      }
    }

    const fetches = events
      .filter((e) => e.step_type === 'http_fetch' && e.step_ref && e.event !== 'step_started' && e.data)
      .map((e) => {
        const data = e.data ?? {};
        const request = Object.fromEntries(Object.entries(data).filter(([k]) => FETCH_REQUEST_FIELDS.includes(k)));
        const response = Object.fromEntries(Object.entries(data).filter(([k]) => !FETCH_REQUEST_FIELDS.includes(k)));
        return { step_ref: e.step_ref!, request: redactSecrets(request), response: redactSecrets(response) };
      });

    const batch = batches[batches.length - 1];
    let batchBody;
    if (batch) {
      const members = await batchActivities(db, batch.id, 'desc', 50);
      batchBody = {
        id: batch.id,
        key: batch.batch_key === '' ? null : batch.batch_key,
        step_ref: batch.step_ref,
        window_ends_at: batch.closes_at ? new Date(batch.closes_at).toISOString() : null,
        total_activities: members.total,
        activities: members.activities.map((a) => ({ actor: a.actor ? toReference(a.actor) : null, data: redactSecrets(a.data), inserted_at: new Date(a.inserted_at).toISOString() })),
      };
    }
    return {
      run: dashboardRun(run, halted.get(run.id) ?? null),
      timeline: events.map(timelineEntry),
      ...(batchBody ? { batch: batchBody } : {}),
      messages: messages.map(messageSummary),
      preference_explanations: preferenceExplanations,
      fetches,
    };
  });

  app.post('/dashboard/api/runs/:id/cancel', {
    config,
    schema: { tags: ['dashboard'], params: RunParams, response: { 200: RunCancelAnswer } },
  }, async (request) => {
    const { db } = await contextOf(request);
    const existing = await getRun(db, request.params.id);
    if (!existing) throw errors.notFound(`Workflow recipient run "${request.params.id}"`);
    const cancelled = await cancelOneRun(db, existing.id, deps.clock.now(), { cancelled_by: 'dashboard', cancellation_key: existing.cancellation_key });
    const run = await getRun(db, existing.id);
    if (!cancelled) throw dashboardErrors.runNotCancellable(run?.status ?? existing.status);
    return { run: dashboardRun(run!, null) };
  });
}
