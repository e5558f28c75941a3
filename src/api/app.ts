import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import cors from '@fastify/cors';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { parseQueryString } from './plugins/query.js';
import { registerErrorHandling } from './plugins/errors.js';
import { registerAuth, registerRouteTable } from './plugins/auth.js';
import { redactingLogger, serializeRequest } from './plugins/log-redaction.js';
import { registerRateLimit } from './plugins/rate-limit.js';
import { registerRealtime } from './routes/realtime.js';
import { schemaCompilers } from './plugins/validation.js';
import { registerRoutes } from './routes/index.js';
import { registerMetricsRoute } from './routes/metrics.js';
import { parseJsonBody } from './plugins/json-body.js';
import { registerInputChecks } from './plugins/input-checks.js';
import { answerClientError, answerFrameworkError } from './plugins/framework-errors.js';
import { BODY_MAX_BYTES, ID_MAX_LENGTH } from '../domain/limits.js';
import type { ApiDeps, App } from './types.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerMgmtApi } from './mgmt/index.js';
import { registerDashboard } from './dashboard/index.js';

export interface BuildAppOptions {
  logger?: FastifyBaseLogger | boolean;
  /**
   * `primary` (default): the API that listens, with the management API, health, OpenAPI and
   * metrics. `environment`: another environment's public API, reached only through `handOver`.
   */
  role?: 'primary' | 'environment';
  /** Requests (and socket upgrades) that belong to another environment's API, by their key. */
  handOver?: (req: IncomingMessage) => App | undefined;
}

/** Builds the HTTP API without listening, so tests and the server share one construction. */
export async function buildApp(deps: ApiDeps, opts: BuildAppOptions = {}): Promise<App> {
  const app = Fastify({
    // Credentials in URLs and headers are masked in every log line (log-redaction.ts).
    loggerInstance: typeof opts.logger === 'object' ? redactingLogger(opts.logger) : undefined,
    logger: opts.logger === true ? { serializers: { req: serializeRequest } } : opts.logger === false ? false : undefined,
    genReqId: () => randomUUID(),
    // Only failed or slow requests are logged at info (RequestLog below).
    logController: new RequestLog(),
    // Trigger data may be up to 10 MB.
    bodyLimit: BODY_MAX_BYTES,
    // A path id may be ID_MAX_LENGTH characters, each up to 12 once percent-encoded (4 UTF-8 bytes).
    routerOptions: { querystringParser: parseQueryString, ignoreTrailingSlash: true, maxParamLength: ID_MAX_LENGTH * 12 },
    // Errors raised before a route runs (router, node's HTTP parser) in Knock's shape too.
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
    // Validators and serializers compiled on a route's first use, not at start-up (validation.ts).
    schemaController: { compilersFactory: schemaCompilers() },
    ...(opts.handOver ? { serverFactory: handingOverServer(opts.handOver) } : {}),
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  // Depth, prototype poisoning, NUL and lone surrogates are refused here, before anything else.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(String(body)));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  registerInputChecks(app);
  // Shutting down: a request already in flight is answered, then its keep-alive connection
  // closes. Node's server.close() reaps only the connections idle at that moment, so without
  // this one that finishes later would hold the close open for the whole keep-alive timeout.
  let closing = false;
  app.addHook('preClose', (done) => { closing = true; done(); });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing && request.raw.httpVersionMajor < 2) reply.header('connection', 'close');
  });

  // Browser clients (@knocklabs/client) call from other origins; their preflight carries no key,
  // so CORS answers OPTIONS before authentication runs.
  // Before any route (the CORS plugin adds one): the table proves every route declares its access.
  registerRouteTable(app);
  await app.register(cors, {
    origin: true,
    // Knock's browser client also PUTs (identify, message status, preferences, channel data) and DELETEs (message status, channel data).
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Accept', 'X-Knock-User-Token', 'X-Knock-Client', 'X-Knock-Branch', 'Idempotency-Key'],
    exposedHeaders: ['x-request-id', 'idempotent-replayed', 'original-x-request-id', 'x-herald-cancelled-runs', 'retry-after', 'retry-after-ms'],
    maxAge: 600,
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Herald (Knock-compatible API)', version: '0.1.0' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  registerErrorHandling(app);
  registerAuth(app, deps);
  registerRateLimit(app, deps);
  registerRoutes(app, deps);
  await registerRealtime(app, deps);
  if (opts.role !== 'environment') {
    // Knock's management API under /mgmt, service tokens only (mgmt/index.ts).
    await registerMgmtApi(app, deps);
    // The dashboard's page and API (dashboard/index.ts).
    await registerDashboard(app, deps);
    app.get('/openapi.json', { config: { auth: 'none' }, schema: { hide: true } }, async () => app.swagger());
    registerHealthRoutes(app, deps);
    if (deps.metricsSource) registerMetricsRoute(app, deps.metricsSource);
  }
  // Reached by hand-over only, never listening itself: its routes must be ready now.
  if (opts.role === 'environment') await app.ready();
  return app;
}

/**
 * The listening server of the first environment: a request or socket upgrade whose key belongs
 * to another environment is given to that environment's API (its own Fastify instance, routes,
 * auth and store) as if it had arrived there; everything else is handled here.
 */
function handingOverServer(handOver: (req: IncomingMessage) => App | undefined) {
  return (handler: RequestListener) => {
    const server = createServer(handler);
    const emit = server.emit.bind(server) as (event: string | symbol, ...args: unknown[]) => boolean;
    server.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event === 'request' || event === 'upgrade') {
        const target = handOver(args[0] as IncomingMessage);
        if (target) return (target.server.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
      }
      return emit(event, ...args);
    }) as typeof server.emit;
    return server;
  };
}

/** A request slower than this is logged at info whatever its status. */
const SLOW_REQUEST_MS = 1000;

/**
 * Request logs without a synchronous cost on the hot path: Fastify's two info lines per request
 * cost ~10 % of a trigger's CPU. Here every request is logged at debug (a no-op function at
 * info), and failed (4xx/5xx) or slow ones at info. The lines carry the same `req`/`res` fields
 * as Fastify's own, so log-redaction.ts masks them the same way.
 */
class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const responseTime = reply.elapsedTime;
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime }, 'request errored');
    else if (reply.statusCode >= 400 || responseTime >= SLOW_REQUEST_MS) reply.log.info({ req: request, res: reply, responseTime }, 'request completed');
    else reply.log.debug({ res: reply, responseTime }, 'request completed');
  }
}
