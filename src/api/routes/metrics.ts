/**
 * GET /metrics in Prometheus's text format, served one of two ways:
 * - on the API port (default): Herald faces the internet, and the figures name workflows,
 *   channels and providers and show traffic, so the route needs the secret key like every admin
 *   route (`config.auth: 'secret'`; Prometheus: `authorization: { credentials_file: ... }`);
 * - on a port of its own (HERALD_METRICS_PORT), meant for a private network: open, or guarded
 *   by HERALD_METRICS_TOKEN, a scrape-only credential that grants nothing on the API.
 */
import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { MetricsSource } from '../../metrics/port.js';
import { errors, HeraldError } from '../../domain/errors.js';
import type { App } from '../types.js';

export const METRICS_PATH = '/metrics';

async function answer(source: MetricsSource, reply: FastifyReply): Promise<string> {
  const text = await source.metrics();
  reply.type(source.contentType);
  return text;
}

/** /metrics on the API app, behind the secret key (the auth hook checks it). */
export function registerMetricsRoute(app: App, source: MetricsSource): void {
  app.get(METRICS_PATH, { config: { auth: 'secret' }, schema: { hide: true } }, (_request, reply) => answer(source, reply));
}

export interface MetricsServerOptions {
  source: MetricsSource;
  port: number;
  host: string;
  /** Bearer token a scrape must present; absent = open (a private network's port). */
  token?: string;
  logger: FastifyBaseLogger;
}

/** A listener serving only /metrics; close it with the Herald. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<FastifyInstance> {
  const server = Fastify({ loggerInstance: opts.logger });
  const expected = opts.token ? Buffer.from(opts.token) : null;
  server.setErrorHandler((err, request, reply) => {
    if (!(err instanceof HeraldError)) request.log.error({ err }, 'metrics scrape failed');
    const e = err instanceof HeraldError ? err : errors.internal();
    return reply.code(e.status).send(e.toBody());
  });
  server.setNotFoundHandler((request, reply) => reply.code(404).send(errors.routeNotFound(request.method, request.url.split('?')[0]).toBody()));
  server.get(METRICS_PATH, {
    // This server has no API keys: the route checks its own token (or none) below.
    config: { auth: 'none' },
    onRequest: async (request) => {
      if (!expected) return;
      const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
      if (!match) throw errors.apiKeyMissing();
      const presented = Buffer.from(match[1]);
      if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) throw errors.apiKeyInvalid();
    },
  }, (_request, reply) => answer(opts.source, reply));
  await server.listen({ port: opts.port, host: opts.host });
  return server;
}
