/**
 * Traces past the trigger (README "Tracing"): with Herald's real OpenTelemetry SDK exporting
 * over OTLP/HTTP to a loopback collector, the HTTP requests a run makes (an http_fetch step, a
 * webhook channel delivery) are client spans in the HTTP trigger's trace and their receiver on
 * loopback gets a `traceparent` naming them; a run started by a trigger_workflow step, and the
 * run of a schedule's occurrence, continue the trace of what started them; and log lines
 * written inside a span (a delivery attempt's, a schedule firing's) carry its trace id.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { WebhookReceiver, type Hook } from '../support/providers/webhook-server.js';
import { capturingLogger, Collector, KIND, type CollectedSpan } from '../support/otlp-collector.js';
import { tracer } from '../../src/telemetry/port.js';
import { flushTracing } from '../../src/telemetry/start.js';
import { TRIGGER_SPAN_NAME } from '../../src/api/routes/workflows.js';
import { RUN_SPAN_NAME } from '../../src/engine/advance-batch.js';
import { DELIVERY_SPAN_NAME, PROVIDER_SPAN_NAME } from '../../src/queue/delivery-task.js';
import { SCHEDULE_SPAN_NAME } from '../../src/queue/schedule-task.js';

const CALLER_SPAN = '00f067aa0ba902b7';
const QUERY_SECRET = 'tok-5e1f9a';

const workflows = [
  {
    key: 'enrich', name: 'enrich',
    steps: [{ ref: 'profile', type: 'http_fetch', settings: { method: 'get', url: '{{ data.base }}/profile', query_params: [{ key: 'token', value: QUERY_SECRET }] } }],
  },
  {
    key: 'notify-hook', name: 'notify-hook',
    steps: [{ ref: 'hook', type: 'channel', channel_key: 'hooks', template: { url: `{{ data.base }}/hooks/orders?token=${QUERY_SECRET}` } }],
  },
  {
    key: 'parent', name: 'parent',
    steps: [{ ref: 'start-child', type: 'trigger_workflow', settings: { workflow_key: 'child' } }],
  },
  { key: 'child', name: 'child', steps: [{ ref: 'profile', type: 'http_fetch', settings: { url: '{{ data.base }}/child-profile' } }] },
  { key: 'daily', name: 'daily', steps: [{ ref: 'profile', type: 'http_fetch', settings: { url: '{{ data.base }}/daily' } }] },
];

/** `00-<trace id>-<span id>-<flags>` split into its ids. */
function parentOf(hook: Hook): { traceId: string; spanId: string } {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(String(hook.headers.traceparent ?? ''));
  expect(m, `traceparent of ${hook.method} ${hook.path}`).not.toBeNull();
  return { traceId: m![1], spanId: m![2] };
}

describe('traces of what runs do', () => {
  // One collector for the file: the exporter reads its endpoint once, when the SDK starts.
  let collector: Collector;
  beforeAll(async () => {
    collector = await new Collector().start();
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = collector.url;
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
    process.env.OTEL_SERVICE_NAME = 'herald-outbound-test';
  });
  afterAll(async () => { await collector.close(); });

  describe.each(engines)('%s', (engine) => {
    let t: TestHerald;
    let receiver: WebhookReceiver;
    let logs: ReturnType<typeof capturingLogger>;
    beforeEach(async () => {
      receiver = await new WebhookReceiver().start();
      logs = capturingLogger();
      t = await startTestHerald(engine, {
        workflows,
        logger: logs.logger,
        channels: [{ key: 'hooks', type: 'http', provider: 'webhook', settings: { headers: { authorization: 'Bearer hook-secret-77' } } }],
      });
      expect(tracer().enabled).toBe(true);
      await t.knock.users.update('ada', { name: 'Ada' } as any);
    });
    afterEach(async () => {
      await t.close();
      await receiver.close();
    });

    /** Triggers `workflow` as a traced caller would, runs everything due, exports the spans. */
    async function trigger(workflow: string, traceId: string) {
      const res = await http(t, 'POST', `/v1/workflows/${workflow}/trigger`, { recipients: ['ada'], data: { base: receiver.url } },
        { traceparent: `00-${traceId}-${CALLER_SPAN}-01`, tracestate: 'caller=1' });
      expect(res.status).toBe(200);
      await t.drain();
      await flushTracing();
      return res.body.workflow_run_id as string;
    }
    const spansOf = (traceId: string) => collector.spans.filter((s) => s.traceId === traceId);
    const only = (spans: CollectedSpan[], name: string) => {
      const found = spans.filter((s) => s.name === name);
      expect(found, name).toHaveLength(1);
      return found[0];
    };

    it('an http_fetch step\'s request is a client span of the run, and the server gets its traceparent', async () => {
      const traceId = randomBytes(16).toString('hex');
      await trigger('enrich', traceId);
      expect(receiver.hooks.map((h) => `${h.method} ${h.path}`)).toEqual(['GET /profile']);
      const [hook] = receiver.hooks;

      const spans = spansOf(traceId);
      const client = only(spans, 'HTTP GET');
      expect(client.kind).toBe(KIND.client);
      expect(collector.chain(client)).toEqual(['HTTP GET', RUN_SPAN_NAME, TRIGGER_SPAN_NAME]);
      expect(parentOf(hook)).toEqual({ traceId, spanId: client.spanId });
      expect(hook.headers.tracestate).toBe('caller=1');
      expect(client.attributes).toMatchObject({
        'http.request.method': 'GET', 'server.address': '127.0.0.1', 'url.path': '/profile',
        'url.full': `${receiver.url}/profile`, 'http.response.status_code': 200,
      });
      // The query string (where tokens travel) is in no attribute.
      expect(JSON.stringify(client.attributes)).not.toContain(QUERY_SECRET);
    });

    it('a webhook delivery is a client span of the provider call, and the receiver gets its traceparent', async () => {
      const traceId = randomBytes(16).toString('hex');
      receiver.script = [{ status: 202, body: { queued: true } }];
      await trigger('notify-hook', traceId);
      expect(receiver.hooks.map((h) => `${h.method} ${h.path}`)).toEqual(['POST /hooks/orders']);
      const [hook] = receiver.hooks;

      const spans = spansOf(traceId);
      const client = only(spans, 'HTTP POST');
      expect(client.kind).toBe(KIND.client);
      expect(collector.chain(client)).toEqual(['HTTP POST', PROVIDER_SPAN_NAME, DELIVERY_SPAN_NAME, TRIGGER_SPAN_NAME]);
      expect(parentOf(hook)).toEqual({ traceId, spanId: client.spanId });
      expect(hook.headers.tracestate).toBe('caller=1');
      // The channel's own headers are sent unchanged next to the trace context.
      expect(hook.headers.authorization).toBe('Bearer hook-secret-77');
      expect(client.attributes).toMatchObject({ 'http.request.method': 'POST', 'url.path': '/hooks/orders', 'http.response.status_code': 202 });
      expect(JSON.stringify(client.attributes)).not.toContain(QUERY_SECRET);
      expect(JSON.stringify(client.attributes)).not.toContain('hook-secret-77');

      // The delivery log shows the request as the channel sent it, without the trace headers.
      const { items } = await t.knock.users.listMessages('ada');
      const logsRes = await http(t, 'GET', `/v1/messages/${items[0].id}/delivery_logs`);
      expect(JSON.stringify(logsRes.body)).not.toContain('traceparent');
    });

    it('a run started by a trigger_workflow step continues the trace of the run whose step started it', async () => {
      const traceId = randomBytes(16).toString('hex');
      const parentRunId = await trigger('parent', traceId);
      expect(receiver.hooks.map((h) => h.path)).toEqual(['/child-profile']);

      const spans = spansOf(traceId);
      const runs = spans.filter((s) => s.name === RUN_SPAN_NAME);
      expect(runs.map((s) => s.attributes['herald.workflow']).sort()).toEqual(['child', 'parent']);
      const parentRun = runs.find((s) => s.attributes['herald.workflow'] === 'parent')!;
      const childRun = runs.find((s) => s.attributes['herald.workflow'] === 'child')!;
      expect(parentRun.attributes['herald.workflow_run_id']).toBe(parentRunId);
      expect(childRun.parentSpanId).toBe(parentRun.spanId);
      // The child's own HTTP call, made by a later advance, still lands in the caller's trace.
      const client = only(spans, 'HTTP GET');
      expect(collector.chain(client)).toEqual(['HTTP GET', RUN_SPAN_NAME, RUN_SPAN_NAME, TRIGGER_SPAN_NAME]);
      expect(parentOf(receiver.hooks[0])).toEqual({ traceId, spanId: client.spanId });

      // The trace context went through the database with the child trigger.
      const [row] = await t.db.query<{ trace_context: { traceparent: string } }>(
        'SELECT trace_context FROM workflow_triggers WHERE id = $1', [childRun.attributes['herald.workflow_run_id']]);
      expect(row.trace_context.traceparent).toBe(`00-${traceId}-${parentRun.spanId}-01`);
    });

    it('a schedule\'s occurrence is one trace: the firing, the run it starts and the run\'s requests', async () => {
      t.clock.set('2026-03-02T12:00:00Z');
      const [schedule] = await t.knock.schedules.create({ workflow: 'daily', recipients: ['ada'], data: { base: receiver.url }, repeats: [{ frequency: 'daily', hours: 13 }] });
      t.clock.set('2026-03-02T13:00:00Z');
      await t.drain();
      await flushTracing();
      expect(receiver.hooks.map((h) => h.path)).toEqual(['/daily']);

      const firings = collector.spans.filter((s) => s.name === SCHEDULE_SPAN_NAME && s.attributes['herald.schedule_id'] === schedule.id);
      expect(firings).toHaveLength(1);
      const [firing] = firings;
      expect(firing.parentSpanId).toBe('');
      expect(firing.kind).toBe(KIND.producer);
      const spans = spansOf(firing.traceId);
      const run = only(spans, RUN_SPAN_NAME);
      expect(run.parentSpanId).toBe(firing.spanId);
      const client = only(spans, 'HTTP GET');
      expect(collector.chain(client)).toEqual(['HTTP GET', RUN_SPAN_NAME, SCHEDULE_SPAN_NAME]);
      expect(parentOf(receiver.hooks[0])).toEqual({ traceId: firing.traceId, spanId: client.spanId });
      // The firing's own log line carries its trace (the logger's mixin reads the active span).
      const fired = logs.lines.filter((l) => l.msg === 'schedule fired');
      expect(fired).toHaveLength(1);
      expect(fired[0]).toMatchObject({ schedule_id: schedule.id, trace_id: firing.traceId, span_id: firing.spanId });
    });

    it('a log line written inside a delivery attempt\'s span carries its trace and span ids', async () => {
      const traceId = randomBytes(16).toString('hex');
      receiver.script = [{ status: 500, body: { error: 'down' } }];
      await trigger('notify-hook', traceId);
      const attempt = only(spansOf(traceId), DELIVERY_SPAN_NAME);
      const failed = logs.lines.filter((l) => l.msg === 'delivery attempt failed');
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ trace_id: traceId, span_id: attempt.spanId, settlement: 'retry' });
      // Lines written outside any span (another request's, the worker's own) have no trace fields.
      expect(logs.lines.filter((l) => l.trace_id === undefined).length).toBeGreaterThan(0);
    });
  });
});
