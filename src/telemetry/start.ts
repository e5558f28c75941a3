/**
 * Starts OpenTelemetry tracing when, and only when, the standard OTEL_* variables ask for it:
 * - OTEL_SDK_DISABLED=true: off, whatever else is set;
 * - OTEL_TRACES_EXPORTER: `otlp` (or a list containing it) on, `console` on (spans printed to
 *   stdout, for a quick look), `none` off;
 * - otherwise on when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set.
 * The OTLP exporter speaks OTLP/HTTP: protobuf (the default) or JSON, chosen by
 * OTEL_EXPORTER_OTLP_TRACES_PROTOCOL / OTEL_EXPORTER_OTLP_PROTOCOL (`grpc` is not supported and
 * leaves tracing off with a warning). Endpoint, headers, timeout, compression, the batch
 * processor's OTEL_BSP_* and the sampler's OTEL_TRACES_SAMPLER(_ARG) are read by the SDK itself;
 * OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES name the process (service.name defaults to herald).
 *
 * When nothing asks for tracing, no SDK module is even loaded (they are imported on demand), so
 * an untraced Herald pays only tracer().enabled checks.
 */
import { installTracing, tracer } from './port.js';

interface Logger { warn(obj: object, msg: string): void; info(obj: object, msg: string): void }

export type TracesExporterChoice = { exporter: 'otlp'; protocol: 'http/protobuf' | 'http/json' } | { exporter: 'console' } | { exporter: 'none'; reason?: string };

/** Reads the OTEL_* variables that decide whether, and where, traces go. */
export function tracesExporterFromEnv(env: NodeJS.ProcessEnv): TracesExporterChoice {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return { exporter: 'none' };
  const named = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  const endpoint = !!(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const wantsOtlp = named.length > 0 ? named.includes('otlp') : endpoint;
  if (!wantsOtlp) return named.includes('console') ? { exporter: 'console' } : { exporter: 'none' };
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim().toLowerCase();
  if (protocol === 'http/protobuf' || protocol === 'http/json') return { exporter: 'otlp', protocol };
  return { exporter: 'none', reason: `OTLP protocol "${protocol}" is not supported (use http/protobuf or http/json); tracing stays off` };
}

let started: Promise<boolean> | null = null;
let flush: (() => Promise<void>) | null = null;
let shutdown: (() => Promise<void>) | null = null;

/**
 * Starts tracing for this process if the environment asks for it; true when tracing is on. Called
 * by every Herald built in the process: once started, the SDK stays (it is process-wide); while
 * it is off, each call reads the environment again (a few string checks).
 */
export function startTracingFromEnv(env: NodeJS.ProcessEnv, logger: Logger): Promise<boolean> {
  const attempt = started ?? start(env, logger);
  started = attempt;
  void attempt.then((on) => { if (!on && started === attempt) started = null; }, () => { if (started === attempt) started = null; });
  return attempt;
}

async function start(env: NodeJS.ProcessEnv, logger: Logger): Promise<boolean> {
  const choice = tracesExporterFromEnv(env);
  if (choice.exporter === 'none') {
    if (choice.reason) logger.warn({}, choice.reason);
    return false;
  }
  const [{ NodeTracerProvider, BatchSpanProcessor, ConsoleSpanExporter }, { resourceFromAttributes, detectResources, envDetector }, { otelTracing }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/resources'),
    import('./otel.js'),
  ]);
  const exporter = choice.exporter === 'console'
    ? new ConsoleSpanExporter()
    : choice.protocol === 'http/json'
      ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter()
      : new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
  const resource = resourceFromAttributes({ 'service.name': 'herald' }).merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  // Registers the global tracer provider, the W3C trace-context + baggage propagator and the
  // AsyncLocalStorage context manager.
  provider.register();
  installTracing(otelTracing(provider.getTracer('herald')));
  flush = () => provider.forceFlush();
  shutdown = () => provider.shutdown();
  logger.info({ exporter: choice.exporter, protocol: choice.exporter === 'otlp' ? choice.protocol : undefined }, 'tracing on');
  return true;
}

/** Exports the spans ended so far (tests; a process about to exit). */
export async function flushTracing(): Promise<void> {
  if (tracer().enabled) await flush?.();
}

/** Exports what is left and stops the SDK (process exit). */
export async function shutdownTracing(): Promise<void> {
  if (tracer().enabled) await shutdown?.();
}
