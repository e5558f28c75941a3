import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errors, HeraldError } from '../../domain/errors.js';

/*
 * Errors raised before a route runs — by node's HTTP parser (431 headers too large, malformed
 * requests) or by Fastify's router (bad percent-encoding, a path parameter over maxParamLength) —
 * answered in Knock's error shape like every other error.
 */

/** The Knock-shaped error for a Fastify or node error code with a status below 500. */
export function frameworkError(code: string | undefined, status: number, message: string): HeraldError {
  switch (code) {
    case 'FST_ERR_BAD_URL':
      return new HeraldError(400, 'invalid_url', 'The URL is not valid: a path segment has malformed percent-encoding.', 'invalid_request_error');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new HeraldError(414, 'uri_too_long', 'A path parameter is too long.', 'invalid_request_error');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new HeraldError(415, 'unsupported_media_type', 'The request body must be application/json.', 'invalid_request_error');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HeraldError(413, 'request_too_large', message, 'invalid_request_error');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HeraldError(400, 'invalid_request', message, 'invalid_request_error');
    default:
      return new HeraldError(status, status === 413 ? 'request_too_large' : status === 415 ? 'unsupported_media_type' : 'invalid_params', message, 'invalid_request_error');
  }
}

/** Fastify's `frameworkErrors` option: router errors in Knock's shape. */
export function answerFrameworkError(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode ?? 400;
  // Only the router's own faults (an async constraint failing) are 5xx; they are not the caller's.
  const herald = status >= 500 ? errors.internal() : frameworkError(err.code, status, err.message);
  if (herald.status >= 500) reply.header('x-should-retry', 'true');
  reply.code(herald.status).send(herald.toBody());
}

/**
 * Fastify's `clientErrorHandler` (node's `clientError`): the request never became a request, so
 * the answer is written to the socket by hand, in Knock's shape, and the connection closed.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let herald: HeraldError;
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    herald = new HeraldError(431, 'headers_too_large', 'The request headers (with the URL) exceed 16 KB.', 'invalid_request_error');
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    herald = new HeraldError(408, 'request_timeout', 'The request was not received in time.', 'invalid_request_error');
  } else {
    herald = new HeraldError(400, 'invalid_request', 'The request is not valid HTTP.', 'invalid_request_error');
  }
  const body = JSON.stringify(herald.toBody());
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${herald.status} ${STATUS_CODES[herald.status]}\r\nContent-Type: application/json; charset=utf-8\r\n`
      + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}
