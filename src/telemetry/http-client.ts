/**
 * The client span of one outgoing HTTP request made for a run or a delivery: provider API
 * calls (providers/http-call.ts), webhook channel deliveries (providers/webhook.ts) and
 * http_fetch steps (engine/steps/http-fetch.ts). The span is a child of whatever span is active
 * (the run's advance, the provider call) and the remote server receives its context as W3C
 * `traceparent` / `tracestate`, so the receiver's own spans join the same trace.
 *
 * Attributes follow OpenTelemetry's HTTP client conventions. The URL is recorded without its
 * query string (tokens often travel there), and callers pass the path as they log it (secrets
 * scrubbed) when the path may hold one: a chat incoming-webhook URL is its own credential.
 */
import { inSpan, tracer, type SpanAttributes } from './port.js';

export interface ClientRequest {
  method: string;
  url: URL;
  /** The headers about to be sent: the trace context is added to this object. */
  headers: Record<string, string>;
  /** The path to record (default `url.pathname`): pass the scrubbed one when it may hold a secret. */
  path?: string;
  /** More attributes for the span (e.g. `herald.provider`). */
  attributes?: SpanAttributes;
}

/** What the caller's answer says about the exchange: its status (0 = no answer) and why it failed. */
export interface ClientOutcome {
  status: number;
  /** A short, low-cardinality reason when there was no answer (`timeout`, `network`, ...). */
  errorType?: string | null;
  /** The failure as the caller reports it (secrets already scrubbed), for the span's status. */
  error?: string | null;
}

export const clientSpanName = (method: string) => `HTTP ${method.toUpperCase()}`;

/**
 * Sends the request inside a client span when tracing is on; with tracing off `send` runs as is.
 * `outcome` reads status and error from what `send` resolved to; a thrown error marks the span
 * failed with its `kind` (OutboundError) or name as `error.type`, and is rethrown.
 */
export function inClientSpan<T>(req: ClientRequest, send: () => Promise<T>, outcome: (answer: T) => ClientOutcome): Promise<T> {
  const t = tracer();
  if (!t.enabled) return send();
  const { url } = req;
  const path = req.path ?? url.pathname;
  return inSpan(clientSpanName(req.method), {
    kind: 'client',
    attributes: {
      'http.request.method': req.method.toUpperCase(),
      'server.address': url.hostname,
      'server.port': Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
      'url.scheme': url.protocol.slice(0, -1),
      'url.path': path,
      'url.full': `${url.origin}${path}`,
      ...req.attributes,
    },
  }, async (span) => {
    // Inside the span: the server receives the client span's own context.
    t.inject(req.headers);
    let answer: T;
    try {
      answer = await send();
    } catch (err) {
      const e = err as { kind?: unknown; name?: unknown };
      span.setAttributes({ 'error.type': typeof e.kind === 'string' ? e.kind : typeof e.name === 'string' ? e.name : 'error' });
      throw err;
    }
    const { status, errorType, error } = outcome(answer);
    span.setAttributes({ 'http.response.status_code': status || undefined });
    if (status === 0 || status >= 400) {
      const type = status === 0 ? errorType ?? 'no_response' : String(status);
      span.setAttributes({ 'error.type': type });
      span.fail(error ?? (status === 0 ? type : `HTTP ${status}`));
    }
    return answer;
  });
}
