import type { IncomingMessage } from 'node:http';

/**
 * The API key a raw request carries, before Fastify has parsed anything: `Authorization:
 * Bearer <key>`, else `?api_key=` (sockets and the SSE stream send it in the URL). Only used to
 * choose the environment that will authenticate the request (herald.ts); the auth hook of that
 * environment still decides whether the key is accepted for the route.
 */
export function presentedKey(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) return /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  const url = req.url ?? '';
  const q = url.indexOf('?');
  if (q < 0 || !url.includes('api_key=', q)) return undefined;
  const key = new URLSearchParams(url.slice(q + 1)).get('api_key');
  return key === null || key === '' ? undefined : key;
}
