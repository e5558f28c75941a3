/**
 * Server-Sent Events over a Fastify reply, as the feed stream and the dashboard's overview stream
 * send them: the same headers (proxies told not to buffer), and HEAD answered without a stream.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

const CONTENT_TYPE = 'text/event-stream; charset=utf-8';

/** HEAD: the stream's headers and no body (a stream that would never end). */
export function answerEventStreamHead(reply: FastifyReply): FastifyReply {
  return reply.type(CONTENT_TYPE).header('cache-control', 'no-cache, no-transform').send();
}

/**
 * Takes the response over from Fastify and writes the stream's headers, keeping those the reply
 * already holds (CORS, security headers); the caller writes events to the returned response.
 */
export function openEventStream(reply: FastifyReply, cacheControl: string, extra: Record<string, string> = {}): ServerResponse {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': CONTENT_TYPE,
    'cache-control': cacheControl,
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    ...extra,
  });
  return res;
}
