import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiDeps, App } from '../types.js';
import { triggerOutcomeOf } from '../../metrics/port.js';
import { tracer, type Span } from '../../telemetry/port.js';
import { Id, RecipientReference, RecipientRequest, TenantRequest } from '../schemas/common.js';

const WorkflowKeyParams = Type.Object({ key: Type.String({ minLength: 1 }) });

const TriggerBody = Type.Object({
  recipients: Type.Array(RecipientRequest, { maxItems: 1000 }),
  actor: Type.Optional(Type.Union([RecipientRequest, Type.Null()])),
  cancellation_key: Type.Optional(Type.Union([Id, Type.Null()])),
  data: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()])),
  tenant: Type.Optional(Type.Union([TenantRequest, Type.Null()])),
  settings: Type.Optional(Type.Union([Type.Object({
    sandbox_mode: Type.Optional(Type.Boolean()),
    skip_delay: Type.Optional(Type.Boolean()),
  }), Type.Null()])),
});

const CancelBody = Type.Object({
  cancellation_key: Id,
  recipients: Type.Optional(Type.Union([Type.Array(RecipientReference, { maxItems: 1000 }), Type.Null()])),
});

/** Header reporting how many runs a cancel stopped (Knock's cancel tells you nothing). */
export const CANCELLED_COUNT_HEADER = 'x-herald-cancelled-runs';

export function registerWorkflowRoutes(app: App, deps: ApiDeps): void {
  app.post('/v1/workflows/:key/trigger', {
    config: { auth: 'secret' },
    schema: { tags: ['workflows'], summary: 'Trigger a workflow', params: WorkflowKeyParams, body: TriggerBody },
    // With tracing on, a server span covers the whole request, refusals before the handler
    // included; with it off, no hook is added to the route at all.
    ...(tracer().enabled ? { onRequest: async (request: FastifyRequest, reply: FastifyReply) => { startTriggerSpan(request, reply); } } : {}),
    // Every answer of an authenticated caller counts, refusals before the handler included.
    onResponse: async (request, reply) => {
      if (request.auth) deps.metrics?.trigger((request.params as { key: string }).key, triggerOutcomeOf(reply.statusCode, reply.hasHeader('idempotent-replayed')));
      endTriggerSpan(request, reply);
    },
  }, async (request, reply) => {
    // The key's length and characters were checked by the input checks (never truncated).
    const trigger = () => deps.engine.trigger(request.params.key, request.body as any, { idempotencyKey: idempotencyKeyOf(request), requestId: request.id });
    const span = triggerSpans.get(request);
    const outcome = await (span ? span.within(trigger) : trigger());
    span?.setAttributes({ 'herald.workflow_run_id': outcome.body.workflow_run_id });
    markReplay(reply, outcome);
    return reply.code(outcome.status).send(outcome.body);
  });

  app.post('/v1/workflows/:key/cancel', {
    config: { auth: 'secret' },
    schema: { tags: ['workflows'], summary: 'Cancel paused runs by cancellation key', params: WorkflowKeyParams, body: CancelBody },
  }, async (request, reply) => {
    const outcome = await deps.engine.cancel(request.params.key, request.body as any, { idempotencyKey: idempotencyKeyOf(request), requestId: request.id });
    markReplay(reply, outcome);
    return reply.code(204).header(CANCELLED_COUNT_HEADER, String(outcome.cancelled)).send();
  });
}

function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const key = request.headers['idempotency-key'];
  return typeof key === 'string' && key !== '' ? key : undefined;
}

function markReplay(reply: FastifyReply, outcome: { replayed: boolean; originalRequestId?: string }): void {
  if (!outcome.replayed) return;
  reply.header('idempotent-replayed', 'true');
  if (outcome.originalRequestId) reply.header('original-x-request-id', outcome.originalRequestId);
}

/** The server span of each trigger request in flight (tracing on only). */
const triggerSpans = new WeakMap<FastifyRequest, Span>();
export const TRIGGER_SPAN_NAME = 'POST /v1/workflows/:key/trigger';

/**
 * Starts the trigger's server span under the caller's W3C `traceparent` (and `tracestate`) when
 * it sent one, and gives the request's log lines its trace and span ids.
 */
function startTriggerSpan(request: FastifyRequest, reply: FastifyReply): void {
  const t = tracer();
  if (!t.enabled) return;
  const { traceparent, tracestate } = request.headers;
  const parent = typeof traceparent === 'string' ? { traceparent, ...(typeof tracestate === 'string' ? { tracestate } : {}) } : undefined;
  const span = t.startSpan(TRIGGER_SPAN_NAME, {
    kind: 'server',
    parent: parent ?? null,
    attributes: {
      'http.request.method': 'POST',
      'http.route': '/v1/workflows/:key/trigger',
      'url.path': request.url.split('?')[0],
      'herald.workflow': (request.params as { key?: string }).key,
      'herald.request_id': request.id,
    },
  });
  triggerSpans.set(request, span);
  request.log = request.log.child(span.logFields());
  reply.log = request.log;
}

function endTriggerSpan(request: FastifyRequest, reply: FastifyReply): void {
  const span = triggerSpans.get(request);
  if (!span) return;
  triggerSpans.delete(request);
  span.setAttributes({ 'http.response.status_code': reply.statusCode, 'herald.replayed': reply.hasHeader('idempotent-replayed') || undefined });
  // Server spans fail on 5xx only: a refused request is the caller's error, not the server's.
  if (reply.statusCode >= 500) span.fail(`HTTP ${reply.statusCode}`);
  span.end();
}
