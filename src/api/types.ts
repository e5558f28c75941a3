import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Clock } from '../domain/clock.js';
import type { Db } from '../store/db.js';
import type { Engine } from '../engine/engine.js';
import type { UserGrants } from '../domain/user-grants.js';
import type { RateLimitOptions } from './plugins/rate-limit.js';

/** The Fastify instance every route module receives: TypeBox schemas type the handlers. */
export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface ApiKeys {
  secret: string;
  public: string;
}

/** What route modules may use. Routes stay thin: parse, call the store or engine, shape the reply. */
export interface ApiDeps {
  db: Db;
  clock: Clock;
  keys: ApiKeys;
  engine: Engine;
  /** PEM key verifying user tokens sent with a public key; absent = public key alone suffices. */
  signingPublicKey?: string;
  /** Requests per second per API key / per user token; absent = DEFAULT_RATE_LIMITS. */
  rateLimits?: RateLimitOptions;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route may be called with a public key (pk_...), as Knock allows for browser clients. */
    publicAccess?: boolean;
  }
  interface FastifyRequest {
    /** Which key authenticated the request, and for a public key the user it acts as. */
    auth?: { kind: 'secret' } | { kind: 'public'; userId?: string; grants?: UserGrants };
  }
}
