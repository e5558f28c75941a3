import { splitPath } from '../../domain/paths.js';
import { OutboundError, sendOutbound, type OutboundResponse } from '../../net/outbound-http.js';
import { TemplateRenderError } from '../../templates/liquid.js';
import { inClientSpan } from '../../telemetry/http-client.js';
import { FetchSetupError, renderFetchRequest } from './fetch-request.js';
import type { StepHandler, StepResult } from './types.js';

/** Knock: 5xx answers and timeouts are retried after 30 s and then 60 s; the third failure halts. */
const RETRY_BACKOFF_MS = [30_000, 60_000];
const MAX_ATTEMPTS = RETRY_BACKOFF_MS.length + 1;
const SUCCESS = new Set([200, 201, 204]);

/**
 * `http_fetch` (knock-api.md §5.5): one request; a 200/201/204 answer whose body is empty or a
 * JSON object is shallow-merged into the run's data (or placed at `response_path`), and that
 * is the data every later step and message sees. A 5xx, a timeout or a dropped connection is
 * retried as a durable timer: the run is paused (so a cancel stops it) and re-runs this step
 * when it wakes; the attempt count lives in the run's state. Anything else halts the run with
 * the reason on its `run_halted` event.
 *
 * A response that arrives after the run was cancelled is discarded: the checkpoint only
 * commits an outcome for a run that is still held and not cancelled.
 */
export const httpFetchStep: StepHandler = async ({ deps, step, scope, state }) => {
  const settings = step.settings ?? {};
  const attempt = (state.fetch_attempts?.step_ref === step.ref ? state.fetch_attempts.count : 0) + 1;
  let request;
  try {
    request = await renderFetchRequest(settings, scope, deps.clock.now().getTime());
  } catch (err) {
    if (err instanceof FetchSetupError || err instanceof TemplateRenderError) return halted((err as Error).message, { attempt });
    throw err;
  }
  // Query strings often carry tokens, so events record the URL without them.
  const where = { method: request.method, url: `${request.url.origin}${request.url.pathname}`, attempt };

  let response: OutboundResponse;
  try {
    // A client span under the run's when tracing is on; the server gets its `traceparent`.
    const sent = request;
    response = await inClientSpan(sent, () => sendOutbound(sent, deps.fetch), (answer) => ({ status: answer.status }));
  } catch (err) {
    if (!(err instanceof OutboundError)) throw err;
    return err.retryable ? retryOrHalt(err.message, where) : halted(err.message, where);
  }
  const answer = { ...where, status: response.status };
  if (response.status >= 500) return retryOrHalt(`the server answered ${response.status}`, answer);
  if (!SUCCESS.has(response.status)) return halted(`the server answered ${response.status}`, { ...answer, body: response.body.slice(0, 500) });

  let payload: Record<string, unknown> = {};
  if (response.body.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(response.body);
    } catch {
      return halted('the response body is not JSON', { ...answer, body: response.body.slice(0, 500) });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return halted('the response body is not a JSON object', answer);
    payload = parsed as Record<string, unknown>;
  }

  const path = typeof settings.response_path === 'string' ? responsePath(settings.response_path) : [];
  const data = path.length > 0 ? setAt(scope.data, path, payload) : { ...scope.data, ...payload };
  return {
    kind: 'completed',
    data,
    event: { ...answer, ...(path.length > 0 ? { response_path: path.join('.') } : { merged_keys: Object.keys(payload) }) },
    state: { fetch_attempts: undefined },
  };

  function retryOrHalt(reason: string, event: Record<string, unknown>): StepResult {
    if (attempt >= MAX_ATTEMPTS) return halted(`${reason} (attempt ${attempt} of ${MAX_ATTEMPTS})`, event);
    // The backoff starts when this attempt ended, which may be up to the timeout after the step began.
    const until = new Date(deps.clock.now().getTime() + RETRY_BACKOFF_MS[attempt - 1]);
    return {
      kind: 'paused',
      until,
      retry: true,
      state: { fetch_attempts: { step_ref: step.ref, count: attempt } },
      event: { ...event, error: reason, retry_at: until.toISOString() },
    };
  }
};

function halted(reason: string, event: Record<string, unknown>): StepResult {
  return { kind: 'halted', reason: `http_fetch failed: ${reason}`, error: true, event };
}

/** `response_path` is relative to data; a leading `data.` is accepted too. */
function responsePath(path: string): string[] {
  const segments = splitPath(path.trim());
  return segments[0] === 'data' ? segments.slice(1) : segments;
}

/** A copy of `data` with `value` at `path`; objects along the way are copied, anything else replaced. */
function setAt(data: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  const out: Record<string, unknown> = { ...data };
  if (rest.length === 0) {
    Object.defineProperty(out, head, { value, enumerable: true, writable: true, configurable: true });
    return out;
  }
  const child = Object.prototype.hasOwnProperty.call(data, head) ? data[head] : undefined;
  const next = child !== null && typeof child === 'object' && !Array.isArray(child) ? child as Record<string, unknown> : {};
  Object.defineProperty(out, head, { value: setAt(next, rest, value), enumerable: true, writable: true, configurable: true });
  return out;
}
