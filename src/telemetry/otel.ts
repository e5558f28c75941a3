/**
 * The OpenTelemetry implementation of the tracing port (port.ts). Installed by start.ts once the
 * SDK's tracer provider, W3C propagator and AsyncLocalStorage context manager are registered.
 */
import {
  context, isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind as OtelKind, SpanStatusCode, trace,
  type Attributes, type Context, type Span as OtelSpan, type Tracer,
} from '@opentelemetry/api';
import { NO_LOG_FIELDS, type Span, type SpanAttributes, type SpanKind, type SpanOptions, type TraceContext, type Tracing } from './port.js';

const KINDS: Record<SpanKind, OtelKind> = {
  internal: OtelKind.INTERNAL,
  server: OtelKind.SERVER,
  client: OtelKind.CLIENT,
  consumer: OtelKind.CONSUMER,
  producer: OtelKind.PRODUCER,
};

/** Attributes without the absent ones (OpenTelemetry drops null values with a warning). */
function attributesOf(a: SpanAttributes | undefined): Attributes {
  const out: Attributes = {};
  if (a) for (const [k, v] of Object.entries(a)) if (v !== undefined && v !== null) out[k] = v;
  return out;
}

/** The parent context a span starts under (see SpanOptions.parent). */
function parentContext(parent: TraceContext | null | undefined): Context {
  if (parent === undefined) return context.active();
  if (parent === null) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, parent);
}

function wrap(span: OtelSpan): Span {
  return {
    setAttributes: (a) => { span.setAttributes(attributesOf(a)); },
    addEvent: (name, a, at) => { span.addEvent(name, attributesOf(a), at); },
    fail(reason) {
      const message = reason instanceof Error ? reason.message : String(reason);
      span.setStatus({ code: SpanStatusCode.ERROR, message: message.slice(0, 500) });
    },
    end: () => span.end(),
    within: (fn) => context.with(trace.setSpan(context.active(), span), fn),
    logFields(): Record<string, string> {
      const c = span.spanContext();
      return span.isRecording() ? { trace_id: c.traceId, span_id: c.spanId } : {};
    },
  };
}

export function otelTracing(tracer: Tracer): Tracing {
  return {
    enabled: true,
    startSpan(name, options: SpanOptions = {}) {
      const span = tracer.startSpan(name, { kind: KINDS[options.kind ?? 'internal'], attributes: attributesOf(options.attributes) }, parentContext(options.parent));
      return wrap(span);
    },
    current() {
      const carrier: Record<string, string> = {};
      propagation.inject(context.active(), carrier);
      if (!carrier.traceparent) return null;
      return carrier.tracestate ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate } : { traceparent: carrier.traceparent };
    },
    inject(headers) {
      propagation.inject(context.active(), headers);
    },
    currentLogFields() {
      const span = trace.getSpan(context.active());
      if (!span) return NO_LOG_FIELDS;
      // A valid context is enough: an unsampled trace's id still joins this line to the other
      // services' lines of the same request.
      const c = span.spanContext();
      return isSpanContextValid(c) ? { trace_id: c.traceId, span_id: c.spanId } : NO_LOG_FIELDS;
    },
  };
}
