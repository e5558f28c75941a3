/**
 * What the rest of Herald reports to monitoring: plain calls at the point where something
 * happens. Domain, store and API code depend on this interface only, never on prom-client; the
 * Prometheus implementation is src/metrics/registry.ts, and `noMetrics` stands in when metrics
 * are off (HERALD_METRICS=off) or a component is built without them (tests, tools).
 */

/** How the HTTP trigger answered. */
export type TriggerOutcomeLabel = 'accepted' | 'replayed' | 'rejected' | 'rate_limited' | 'failed';

/** How one provider call of a delivery attempt ended (`circuit_open`: not called). */
export type DeliveryOutcomeLabel = 'sent' | 'retryable' | 'permanent' | 'circuit_open';

export type ConnectionTransport = 'websocket' | 'sse';

/** One committed run event, as much of it as the counters read. */
export interface CountedRunEvent {
  event: string;
  step_type?: string | null;
  data?: Record<string, unknown> | null;
}

export interface Metrics {
  trigger(workflow: string, outcome: TriggerOutcomeLabel): void;
  /** Events of runs whose checkpoint committed: runs started/completed/halted, steps, delay lateness. */
  runEvents(events: readonly CountedRunEvent[]): void;
  runsCancelled(count: number): void;
  /** A message reached `status` (created with it, or settled by its delivery). */
  message(channelType: string, status: string): void;
  /** One provider call; `seconds` is null when the provider was not called. */
  deliveryAttempt(provider: string, outcome: DeliveryOutcomeLabel, seconds: number | null): void;
  connectionOpened(transport: ConnectionTransport): void;
  connectionClosed(transport: ConnectionTransport): void;
  rateLimited(scope: 'key' | 'user'): void;
}

/** What /metrics serves: the exposition text and its content type. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

const nothing = () => {};

export const noMetrics: Metrics = {
  trigger: nothing,
  runEvents: nothing,
  runsCancelled: nothing,
  message: nothing,
  deliveryAttempt: nothing,
  connectionOpened: nothing,
  connectionClosed: nothing,
  rateLimited: nothing,
};

/** The trigger outcome an HTTP answer stands for. */
export function triggerOutcomeOf(status: number, replayed: boolean): TriggerOutcomeLabel {
  if (status < 300) return replayed ? 'replayed' : 'accepted';
  if (status === 429) return 'rate_limited';
  return status < 500 ? 'rejected' : 'failed';
}
