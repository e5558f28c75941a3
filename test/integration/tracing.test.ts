/**
 * OpenTelemetry traces (README "Tracing"). With OTEL_* unset nothing starts and nothing is
 * stored. With OTEL_EXPORTER_OTLP_ENDPOINT pointing at a loopback OTLP/HTTP (JSON) collector, a
 * trigger sent to Herald A with a W3C `traceparent` is advanced by Herald B's worker on the same
 * database, and B's Postmark call reaches a loopback server: every span lands in the caller's
 * trace, the provider call's parent chain leads to the trigger's server span (carried across the
 * two Heralds by the trace context stored with the trigger), and the provider got a
 * `traceparent` naming the HTTP client span.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { trace, ProxyTracerProvider } from '@opentelemetry/api';
import { drainAll, engines, startTestHerald, writeWorkflowsDir } from '../support/harness.js';
import { openSharedDb } from '../support/two-heralds.js';
import { FakePostmark } from '../support/providers/email-servers.js';
import { capturingLogger, Collector } from '../support/otlp-collector.js';
import { createHerald, type Herald } from '../../src/herald.js';
import { tracer } from '../../src/telemetry/port.js';
import { flushTracing, tracesExporterFromEnv } from '../../src/telemetry/start.js';
import { TRIGGER_SPAN_NAME } from '../../src/api/routes/workflows.js';
import { RUN_SPAN_NAME } from '../../src/engine/advance-batch.js';
import { DELIVERY_SPAN_NAME, PROVIDER_SPAN_NAME } from '../../src/queue/delivery-task.js';

const TOKEN = 'pm-trace-token-71c2';
const workflow = {
  key: 'traced',
  name: 'traced',
  steps: [{ ref: 'email', type: 'channel', channel_key: 'postmark', template: { subject: 'Hi {{ recipient.name }}', text_body: 'Hello' } }],
};

const OTEL_VARS = Object.keys(process.env).filter((k) => k.startsWith('OTEL_'));
const INCOMING_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const INCOMING_PARENT = '00f067aa0ba902b7';

describe('which OTEL_* settings turn tracing on', () => {
  it('is off without an endpoint or exporter, and on with either', () => {
    expect(tracesExporterFromEnv({})).toEqual({ exporter: 'none' });
    expect(tracesExporterFromEnv({ OTEL_SERVICE_NAME: 'herald' })).toEqual({ exporter: 'none' });
    expect(tracesExporterFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toEqual({ exporter: 'otlp', protocol: 'http/protobuf' });
    expect(tracesExporterFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toEqual({ exporter: 'otlp', protocol: 'http/json' });
    expect(tracesExporterFromEnv({ OTEL_TRACES_EXPORTER: 'otlp' })).toEqual({ exporter: 'otlp', protocol: 'http/protobuf' });
    expect(tracesExporterFromEnv({ OTEL_TRACES_EXPORTER: 'console' })).toEqual({ exporter: 'console' });
  });

  it('OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none win over an endpoint; grpc stays off with a reason', () => {
    expect(tracesExporterFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).toEqual({ exporter: 'none' });
    expect(tracesExporterFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' })).toEqual({ exporter: 'none' });
    expect(tracesExporterFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' })).toMatchObject({ exporter: 'none', reason: expect.stringContaining('grpc') });
  });
});

describe('tracing', () => {
  // One collector for the file: the exporter reads its endpoint once, when the SDK starts.
  let collector: Collector;
  beforeAll(async () => { collector = await new Collector().start(); });
  afterAll(async () => { await collector.close(); });

  // Runs first: once the SDK is started it stays for the process (OpenTelemetry is process-wide).
  it('with no OTEL_* variable starts no SDK and stores no trace context', async () => {
    for (const k of OTEL_VARS) delete process.env[k];
    const t = await startTestHerald('pglite', { workflows: [{ key: 'plain', name: 'plain', steps: [] }] });
    try {
      expect(tracer().enabled).toBe(false);
      // No tracer provider was registered with the API: its proxy still delegates to the no-op one.
      const provider = trace.getTracerProvider() as ProxyTracerProvider;
      expect(provider.getDelegate().constructor.name).toBe('NoopTracerProvider');
      const res = await fetch(`${t.url}/v1/workflows/plain/trigger`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.secretKey}`, 'content-type': 'application/json', traceparent: `00-${INCOMING_TRACE}-${INCOMING_PARENT}-01` },
        body: JSON.stringify({ recipients: ['ada'] }),
      });
      expect(res.status).toBe(200);
      const { workflow_run_id } = await res.json() as { workflow_run_id: string };
      const [row] = await t.db.query<{ trace_context: unknown }>('SELECT trace_context FROM workflow_triggers WHERE id = $1', [workflow_run_id]);
      expect(row.trace_context).toBeNull();
    } finally {
      await t.close();
    }
  });

  describe.each(engines)('exported over OTLP/HTTP (%s)', (engine) => {
    let postmark: FakePostmark;
    beforeAll(async () => {
      postmark = await new FakePostmark(TOKEN, ['outbound']).start();
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = collector.url;
      process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
      process.env.OTEL_SERVICE_NAME = 'herald-test';
    });
    afterAll(async () => {
      await postmark.close();
    });

    it('links the provider call made by another Herald to the HTTP trigger that caused it', async () => {
      const traceId = randomBytes(16).toString('hex');
      const shared = await openSharedDb(engine);
      const channels = [{ key: 'postmark', type: 'email' as const, provider: 'postmark', settings: { server_token: TOKEN, base_url: postmark.url, from: 'Herald <noreply@herald.test>', message_stream: 'outbound' } }];
      const logsA = capturingLogger();
      const workflowsDir = writeWorkflowsDir([workflow]);
      const heralds: Herald[] = [];
      try {
        const a = await createHerald({ db: shared.dbs[0], logger: logsA.logger, workflowsDir, channels, workerId: 'herald-a' });
        heralds.push(a);
        const b = await createHerald({ db: shared.dbs[1], logger: pino({ level: 'silent' }), workflowsDir, channels, workerId: 'herald-b' });
        heralds.push(b);
        expect(tracer().enabled).toBe(true);
        await a.app.listen({ port: 0, host: '127.0.0.1' });
        const url = `http://127.0.0.1:${(a.app.server.address() as AddressInfo).port}`;
        await fetch(`${url}/v1/users/ada`, { method: 'PUT', headers: { authorization: `Bearer ${a.keys.secret}`, 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ada@example.com', name: 'Ada' }) });

        const res = await fetch(`${url}/v1/workflows/traced/trigger`, {
          method: 'POST',
          headers: { authorization: `Bearer ${a.keys.secret}`, 'content-type': 'application/json', traceparent: `00-${traceId}-${INCOMING_PARENT}-01`, tracestate: 'vendor=abc' },
          body: JSON.stringify({ recipients: ['ada'] }),
        });
        expect(res.status).toBe(200);
        const { workflow_run_id } = await res.json() as { workflow_run_id: string };

        // The trace context travels through the database: stored with the trigger by A ...
        const [row] = await shared.dbs[0].query<{ trace_context: { traceparent: string; tracestate?: string } }>('SELECT trace_context FROM workflow_triggers WHERE id = $1', [workflow_run_id]);
        expect(row.trace_context.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
        expect(row.trace_context.tracestate).toBe('vendor=abc');

        // ... and read back by B, whose worker advances the run and whose delivery task sends it.
        await drainAll(b);
        expect(postmark.emails).toHaveLength(1);
        await flushTracing();
        await heralds[0].close();
        heralds.shift();

        const spans = collector.spans.filter((s) => s.traceId === traceId);
        const byId = new Map(spans.map((s) => [s.spanId, s]));
        const one = (name: string) => {
          const found = spans.filter((s) => s.name === name);
          expect(found, name).toHaveLength(1);
          return found[0];
        };
        const server = one(TRIGGER_SPAN_NAME);
        expect(server.parentSpanId).toBe(INCOMING_PARENT);
        expect(server.kind).toBe(2); // SERVER
        expect(server.attributes).toMatchObject({ 'http.response.status_code': 200, 'herald.workflow': 'traced', 'herald.workflow_run_id': workflow_run_id });
        expect(server.service).toBe('herald-test');
        expect(row.trace_context.traceparent.split('-')[2]).toBe(server.spanId);

        const run = one(RUN_SPAN_NAME);
        expect(run.parentSpanId).toBe(server.spanId);
        expect(run.attributes).toMatchObject({ 'herald.workflow_run_id': workflow_run_id, 'herald.run.committed': true });
        const delivery = one(DELIVERY_SPAN_NAME);
        expect(delivery.attributes).toMatchObject({ 'herald.channel.type': 'email', 'herald.delivery.settlement': 'sent' });
        const providerCall = one(PROVIDER_SPAN_NAME);
        expect(providerCall.attributes).toMatchObject({ 'herald.provider': 'postmark', 'herald.delivery.outcome': 'sent' });
        const http = one('HTTP POST');
        expect(http.kind).toBe(3); // CLIENT
        expect(http.attributes).toMatchObject({ 'http.request.method': 'POST', 'server.address': '127.0.0.1', 'url.path': '/email', 'http.response.status_code': 200 });

        // The HTTP call's parent chain: provider call -> delivery attempt -> trigger's server span.
        const chain: string[] = [];
        for (let s = byId.get(http.spanId); s; s = byId.get(s.parentSpanId)) chain.push(s.name);
        expect(chain).toEqual(['HTTP POST', PROVIDER_SPAN_NAME, DELIVERY_SPAN_NAME, TRIGGER_SPAN_NAME]);

        // The provider received the client span's context, and Herald's own headers unchanged.
        const sent = postmark.emails[0].headers;
        expect(sent.traceparent).toBe(`00-${traceId}-${http.spanId}-01`);
        expect(sent.tracestate).toBe('vendor=abc');
        expect(collector.contentTypes.every((c) => c === 'POST /v1/traces application/json')).toBe(true);

        // A's request log lines (a successful request's are at debug) carry the trace and span ids
        // of the trigger's server span.
        const completed = logsA.lines.find((l) => l.msg === 'request completed' && l.trace_id !== undefined);
        expect(completed).toMatchObject({ trace_id: traceId, span_id: server.spanId });
      } finally {
        for (const h of heralds) await h.close();
        await shared.close();
      }
    });
  });
});
