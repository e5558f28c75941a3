/**
 * Knock's realtime socket: `ws(s)://<host>/ws/v1/websocket?api_key=pk_…&user_token=…&vsn=2.0.0`
 * (knock-api.md §4.3), as `@knocklabs/client` derives it from its `host`. Authentication happens
 * before the upgrade, so a bad key or token is an HTTP 401/403 and phoenix.js backs off. The
 * protocol itself is src/realtime/phoenix-session.ts; the feed state lives in the database, so
 * any API process can serve any socket.
 */
import websocket from '@fastify/websocket';
import { Type } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import { FeedHub } from '../../realtime/feed-hub.js';
import { PhoenixSession } from '../../realtime/phoenix-session.js';
import { publicKeyAuthenticator, type PublicAuth } from '../plugins/auth.js';
import { presentParam } from '../plugins/user-token.js';
import type { ApiDeps, App } from '../types.js';
import { registerFeedStream } from './feed-stream.js';

/** phoenix.js sends a heartbeat every 30 s; a connection silent for twice that is gone. */
const IDLE_TIMEOUT_MS = 60_000;

const SocketQuery = Type.Object({
  api_key: Type.Optional(Type.String()),
  user_token: Type.Optional(Type.String()),
  branch_slug: Type.Optional(Type.String()),
  vsn: Type.Optional(Type.String()),
}, { additionalProperties: true });

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the socket route's authentication, before the upgrade. */
    socketAuth?: PublicAuth;
  }
}

/**
 * The realtime routes of this process: the Phoenix socket and the SSE stream, sharing one hub
 * that LISTENs for new messages.
 */
export async function registerRealtime(app: App, deps: ApiDeps): Promise<void> {
  const hub = new FeedHub(deps.db, (err) => app.log.warn({ err }, 'realtime hub'));
  app.addHook('onClose', async () => { await hub.close(); });
  await app.register(websocket, {
    options: { maxPayload: 1024 * 1024 },
    // Shutting down: say "going away" (phoenix.js reconnects, to another process behind the
    // load balancer) and do not wait out ws's 30 s close handshake for a peer that is gone.
    preClose(done) {
      for (const client of app.websocketServer.clients) {
        client.close(1001, 'server shutting down');
        setTimeout(() => client.terminate(), 1000).unref();
      }
      // A client reconnecting right now must be turned away, not left waiting for an upgrade:
      // with no 'upgrade' listener Node closes such connections.
      app.server.removeAllListeners('upgrade');
      app.websocketServer.close();
      done();
    },
  });
  registerRealtimeSocket(app, deps, hub);
  registerFeedStream(app, deps, hub);
}

function registerRealtimeSocket(app: App, deps: ApiDeps, hub: FeedHub): void {
  const publicAuth = publicKeyAuthenticator(deps);

  app.get('/ws/v1/websocket', {
    websocket: true,
    schema: { hide: true, querystring: SocketQuery },
    preValidation: async (request) => {
      const q = request.query as { api_key?: string; user_token?: string; vsn?: string };
      const vsn = presentParam(q.vsn);
      if (vsn !== undefined && !vsn.startsWith('2.')) throw errors.badRequest(`Unsupported serializer version "${vsn}"; use 2.0.0.`);
      const key = presentParam(q.api_key);
      if (!key) throw errors.apiKeyMissing();
      // The secret key must never reach a browser; the socket is for public keys only.
      if (key === deps.keys.secret) throw errors.forbidden('The realtime socket takes the public key (pk_...), never the secret key.');
      if (key !== deps.keys.public) throw errors.apiKeyInvalid();
      request.socketAuth = await publicAuth.authenticate(presentParam(q.user_token));
    },
  }, (socket, request) => {
    const session = new PhoenixSession({
      db: deps.db,
      clock: deps.clock,
      hub,
      grants: request.socketAuth?.grants,
      send: (text) => socket.send(text),
      close: (reason) => socket.close(1008, reason),
      onError: (err) => request.log.warn({ err }, 'realtime socket'),
    });
    const idle = setTimeout(() => socket.terminate(), IDLE_TIMEOUT_MS).unref();
    socket.on('message', (data, isBinary) => {
      idle.refresh();
      if (isBinary) return; // Only phoenix's binary pushes use binary frames; feeds never do.
      session.receive(data.toString()).catch((err) => request.log.warn({ err }, 'realtime frame'));
    });
    socket.on('close', () => {
      clearTimeout(idle);
      session.close();
    });
    socket.on('error', () => { /* the close event follows */ });
  });
}
