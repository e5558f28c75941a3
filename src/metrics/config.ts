/**
 * Metrics settings from the environment (read here rather than in config.ts so the metrics
 * feature stays in one folder):
 * - HERALD_METRICS=off turns /metrics off (default on);
 * - HERALD_METRICS_PORT=N serves it on its own port instead of the API's (for a private
 *   network: the API port then has no /metrics at all), bound to HERALD_METRICS_HOST
 *   (default 127.0.0.1);
 * - HERALD_METRICS_TOKEN: on that port, the bearer token a scrape must present (optional;
 *   on the API port /metrics always needs the secret key).
 */
export interface MetricsOptions {
  enabled: boolean;
  /** Serve on this port instead of the API port (0 = any free port, for tests). */
  port?: number;
  host?: string;
  token?: string;
}

const OFF = new Set(['off', 'false', '0', 'no']);

export function metricsOptionsFromEnv(env: NodeJS.ProcessEnv): MetricsOptions {
  const enabled = !OFF.has((env.HERALD_METRICS ?? 'on').trim().toLowerCase());
  const portText = env.HERALD_METRICS_PORT?.trim();
  let port: number | undefined;
  if (portText) {
    port = Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`HERALD_METRICS_PORT must be a port number (0-65535), got "${portText}"`);
  }
  const token = env.HERALD_METRICS_TOKEN?.trim() || undefined;
  return { enabled, port, host: env.HERALD_METRICS_HOST?.trim() || undefined, token };
}
