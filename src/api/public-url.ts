import type { FastifyRequest } from 'fastify';
import type { ApiDeps } from './types.js';

/**
 * The base of absolute URLs Herald returns (`progress_path`): the configured public URL, else
 * the address this server listens on. Never the request's `Host` header: the caller chooses
 * it, and a URL built from it points whoever follows it wherever the caller likes.
 */
export function publicBaseUrl(deps: Pick<ApiDeps, 'publicUrl'>, request: FastifyRequest): string {
  if (deps.publicUrl) return deps.publicUrl;
  const address = request.server.server.address();
  if (address && typeof address === 'object') {
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }
  return 'http://localhost';
}
