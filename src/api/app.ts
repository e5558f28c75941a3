import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import swagger from '@fastify/swagger';
import cors from '@fastify/cors';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { parseQueryString } from './plugins/query.js';
import { registerErrorHandling } from './plugins/errors.js';
import { registerAuth } from './plugins/auth.js';
import { registerRateLimit } from './plugins/rate-limit.js';
import { registerRealtime } from './routes/realtime.js';
import { registerValidation } from './plugins/validation.js';
import { registerRoutes } from './routes/index.js';
import type { ApiDeps, App } from './types.js';

export interface BuildAppOptions {
  logger?: FastifyBaseLogger | boolean;
}

/** Builds the HTTP API without listening, so tests and the server share one construction. */
export async function buildApp(deps: ApiDeps, opts: BuildAppOptions = {}): Promise<App> {
  const app = Fastify({
    loggerInstance: typeof opts.logger === 'object' ? opts.logger : undefined,
    logger: typeof opts.logger === 'boolean' ? opts.logger : undefined,
    genReqId: () => randomUUID(),
    // Trigger data may be up to 10 MB.
    bodyLimit: 11 * 1024 * 1024,
    routerOptions: { querystringParser: parseQueryString, ignoreTrailingSlash: true },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  // Knock's SDKs send `Content-Type: application/json` on bodiless DELETE/POST; treat it as no body.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      const err = new Error('The request body is not valid JSON.') as Error & { statusCode: number };
      err.statusCode = 400;
      done(err, undefined);
    }
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  // Browser clients (@knocklabs/client) call from other origins; their preflight carries no key,
  // so CORS answers OPTIONS before authentication runs.
  await app.register(cors, {
    origin: true,
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
  registerValidation(app);
  registerErrorHandling(app);
  registerAuth(app, deps);
  registerRateLimit(app, deps);
  registerRoutes(app, deps);
  await registerRealtime(app, deps);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
  return app;
}
