/**
 * Keys and user tokens never reach the logs, at any level. Fastify logs every request's URL,
 * and on the routes that take credentials in the query string (SSE, the realtime socket) the
 * URL carries `api_key` and `user_token`; a provider webhook's URL carries `token`. The request
 * serializer masks those values, and headers that carry credentials are censored wherever a
 * log line includes them.
 */
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';

const CREDENTIAL_PARAM = /^(api_key|user_token|token)(\[|$)/i;
const MASK = '[redacted]';

/** `/path?api_key=pk_1&x=2` → `/path?api_key=[redacted]&x=2` (however the name is encoded). */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const parts = url.slice(q + 1).split('&').map((part) => {
    const eq = part.indexOf('=');
    const raw = eq < 0 ? part : part.slice(0, eq);
    let name = raw;
    try { name = decodeURIComponent(raw.replace(/\+/g, ' ')); } catch { /* keep it encoded */ }
    return CREDENTIAL_PARAM.test(name.trim()) ? `${raw}=${MASK}` : part;
  });
  return `${url.slice(0, q)}?${parts.join('&')}`;
}

/** Fastify's own request serializer, with the URL's credentials masked. */
export function serializeRequest(req: FastifyRequest) {
  return {
    method: req.method,
    url: redactUrl(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

const HEADERS = ['authorization', '"x-knock-user-token"', 'cookie'];
const REDACT_PATHS = HEADERS.flatMap((h) => [`req.headers.${h}`, `headers.${h}`, `request.headers.${h}`]);

/** The logger the API uses: `logger` with requests serialized and credential headers censored. */
export function redactingLogger(logger: FastifyBaseLogger): FastifyBaseLogger {
  return logger.child({}, { serializers: { req: serializeRequest }, redact: { paths: REDACT_PATHS, censor: MASK } });
}
