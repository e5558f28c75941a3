/**
 * Knock's realtime socket: `ws(s)://<host>/ws/v1/websocket?api_key=pk_…&user_token=…&vsn=2.0.0`
 * (knock-api.md §4.3), as `@knocklabs/client` derives it from its `host`. Authentication (the
 * auth hook, as for every route; the key and token come in the query string) and the rate
 * limit happen before the upgrade, so a bad key or token is an HTTP 401/403 and phoenix.js
 * backs off. A socket opened with a user token is closed when the token expires. The
 * protocol itself is src/realtime/phoenix-session.ts; the feed state lives in the database, so
 * any API process can serve any socket.
 */
import websocket from '@fastify/websocket';
import { Type } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import { FeedHub } from '../../realtime/feed-hub.js';
import { PhoenixSession } from '../../realtime/phoenix-session.js';
import { onDeadline } from '../../realtime/token-expiry.js';
import { tokenDeadline } from '../../domain/user-grants.js';
import { presentParam } from '../plugins/user-token.js';
import type { ApiDeps, App } from '../types.js';
import { registerFeedStream } from './feed-stream.js';

/** phoenix.js sends a heartbeat every 30 s; a connection silent for twice that is gone. */
const IDLE_TIMEOUT_MS = 60_000;
/**
 * Bytes a socket may have waiting for its client before it is cut off as too slow (phoenix.js
 * reconnects and refetches). Pushes are a few hundred bytes: only a stalled client gets here.
 */
const MAX_BUFFERED_BYTES = 1024 * 1024;

const SocketQuery = Type.Object({
  api_key: Type.Optional(Type.String()),
  user_token: Type.Optional(Type.String()),
  branch_slug: Type.Optional(Type.String()),
  vsn: Type.Optional(Type.String()),
}, { additionalProperties: true });

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
  // An upgrade refused before @fastify/websocket's own onRequest hook ran (authentication and
  // the rate limit run first) is not closed by the plugin: end its connection here, or it
  // stays open and holds the server's close.
  app.addHook('onResponse', async (request) => {
    if (request.raw.headers.upgrade !== undefined && request.ws !== true) request.raw.socket?.destroy();
  });
  registerRealtimeSocket(app, deps, hub);
  registerFeedStream(app, deps, hub);
}

function registerRealtimeSocket(app: App, deps: ApiDeps, hub: FeedHub): void {
  app.get('/ws/v1/websocket', {
    websocket: true,
    config: { auth: 'public', queryAuth: true },
    schema: { hide: true, querystring: SocketQuery },
    preValidation: async (request) => {
      const vsn = presentParam((request.query as { vsn?: string }).vsn);
      if (vsn !== undefined && !vsn.startsWith('2.')) throw errors.badRequest(`Unsupported serializer version "${vsn}"; use 2.0.0.`);
    },
  }, (socket, request) => {
    deps.metrics?.connectionOpened('websocket');
    const grants = request.auth?.kind === 'public' ? request.auth.grants : undefined;
    const close = (reason: string) => {
      session.close();
      socket.close(1008, reason);
      // A peer that does not answer the close handshake is cut off.
      setTimeout(() => socket.terminate(), 1000).unref();
    };
    const session = new PhoenixSession({
      db: deps.db,
      clock: deps.clock,
      hub,
      grants,
      send: (text) => {
        if (socket.bufferedAmount > MAX_BUFFERED_BYTES) { session.close(); socket.terminate(); return; }
        socket.send(text);
      },
      close,
      onError: (err) => request.log.warn({ err }, 'realtime socket'),
    });
    // At the token's expiry, not on the client's next frame: pushes must stop then.
    const cancelExpiry = onDeadline(deps.clock, grants && tokenDeadline(grants), () => close('user token expired'));
    const idle = setTimeout(() => socket.terminate(), IDLE_TIMEOUT_MS).unref();
    socket.on('message', (data, isBinary) => {
      idle.refresh();
      if (isBinary) return; // Only phoenix's binary pushes use binary frames; feeds never do.
      session.receive(data.toString()).catch((err) => request.log.warn({ err }, 'realtime frame'));
    });
    socket.on('close', () => {
      deps.metrics?.connectionClosed('websocket');
      clearTimeout(idle);
      cancelExpiry();
      session.close();
    });
    socket.on('error', () => { /* the close event follows */ });
  });
}
