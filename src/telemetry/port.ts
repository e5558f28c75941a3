/**
 * What the rest of Herald reports to tracing: spans around work, the active trace context as W3C
 * headers, and trace ids for log lines. Domain, engine, store and provider code depend on this
 * interface only, never on @opentelemetry/*; the OpenTelemetry implementation is
 * src/telemetry/otel.ts, installed by startTracingFromEnv (src/telemetry/start.ts) when an
 * OTEL_* variable asks for it. Until then `noTracing` stands in and every call costs a property
 * read and a function call: no span, no context, no allocation on the hot path.
 *
 * The implementation is process-wide (OpenTelemetry's own API is global: one tracer provider,
 * one context manager per process), so it is reached through `tracer()` rather than passed down.
 */

/** A W3C trace context as carried in HTTP headers and stored with a trigger. */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

export type SpanKind = 'internal' | 'server' | 'client' | 'consumer' | 'producer';
export type SpanAttributes = Record<string, string | number | boolean | null | undefined>;

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: SpanAttributes;
  /**
   * The parent: a stored or received context; `null` = a new trace (the run and delivery paths
   * pass it so that no context active by accident becomes the parent); absent = the active span.
   */
  parent?: TraceContext | null;
}

export interface Span {
  setAttributes(attributes: SpanAttributes): void;
  addEvent(name: string, attributes?: SpanAttributes, at?: Date): void;
  /** Marks the span failed (status ERROR) with a short reason. */
  fail(reason: unknown): void;
  end(): void;
  /** Runs `fn` with this span active (its children and `current()` see it). */
  within<T>(fn: () => T): T;
  /** `trace_id` / `span_id` for a log line; empty when not recording. */
  logFields(): Record<string, string>;
}

export interface Tracing {
  readonly enabled: boolean;
  startSpan(name: string, options?: SpanOptions): Span;
  /** The active span's context, or null when none is active (or tracing is off). */
  current(): TraceContext | null;
  /** Adds `traceparent` (and `tracestate`) of the active span to outgoing headers. */
  inject(headers: Record<string, string>): void;
  /**
   * `trace_id` / `span_id` of the active span for a log line, as a new object; `NO_LOG_FIELDS`
   * (shared, never to be written to) when no span is active or tracing is off.
   */
  currentLogFields(): Record<string, string>;
}

/** What `currentLogFields()` answers when there is nothing to add: one shared, frozen object. */
export const NO_LOG_FIELDS: Readonly<Record<string, string>> = Object.freeze({});

const noSpan: Span = {
  setAttributes() {},
  addEvent() {},
  fail() {},
  end() {},
  within: (fn) => fn(),
  logFields: () => ({}),
};

export const noTracing: Tracing = {
  enabled: false,
  startSpan: () => noSpan,
  current: () => null,
  inject() {},
  currentLogFields: () => NO_LOG_FIELDS,
};

let active: Tracing = noTracing;

/** The process's tracing: `noTracing` unless an OTEL_* variable started the SDK. */
export function tracer(): Tracing {
  return active;
}

/** Installs the process's tracing (src/telemetry/start.ts); tests never call it directly. */
export function installTracing(tracing: Tracing): void {
  active = tracing;
}

/**
 * Runs `fn` in a new span that ends when `fn` settles; a thrown error marks it failed and is
 * rethrown. With tracing off, `fn` runs as is (given the no-op span).
 */
export async function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  const t = active;
  if (!t.enabled) return fn(noSpan);
  const span = t.startSpan(name, options);
  try {
    return await span.within(() => fn(span));
  } catch (err) {
    span.fail(err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * pino options that give every log line written while a span is active its `trace_id` and
 * `span_id` (src/cli/logger.ts builds Herald's logger with them; a test or an embedding
 * application passes them to its own `pino(...)`). With tracing off a line costs one call that
 * answers the shared empty object, which the merge strategy then leaves aside: no allocation.
 * Fields the line itself sets win over the mixin's, as with pino's default strategy.
 */
export const traceLogOptions = {
  mixin: (): Record<string, string> => active.currentLogFields(),
  mixinMergeStrategy: (line: object, fields: object): object => (fields === NO_LOG_FIELDS ? line : Object.assign(fields, line)),
};

/** A stored trace context read back from the database (a jsonb column), or null when unusable. */
export function traceContextOf(value: unknown): TraceContext | null {
  if (!value || typeof value !== 'object') return null;
  const { traceparent, tracestate } = value as Record<string, unknown>;
  if (typeof traceparent !== 'string') return null;
  return typeof tracestate === 'string' && tracestate !== '' ? { traceparent, tracestate } : { traceparent };
}

/** A store that can read the trace context stored with triggers (store/trace-context.ts). */
export interface TraceContextSource {
  triggerTraceContexts(triggerIds: readonly string[]): Promise<Map<string, TraceContext>>;
}

export function hasTraceContexts<S extends object>(store: S): store is S & TraceContextSource {
  return typeof (store as Partial<TraceContextSource>).triggerTraceContexts === 'function';
}
