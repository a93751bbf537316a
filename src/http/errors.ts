// Error replies: every failure a request meets after Node's HTTP parser took
// it (a thrown ApiError, fastify's own errors, an unknown route, anything
// unexpected) is answered in the one error shape, { error: { code, message,
// field? } }, with its status. A 500 never says what went wrong inside.

import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, type ErrorBody } from '../errors.js';
import type { App } from './types.js';

/** sendError answers with the error's status and body; a 401 also says how to authenticate. */
export function sendError(reply: FastifyReply, err: ApiError): FastifyReply {
  const body: ErrorBody = { error: { code: err.code, message: err.message } };
  if (err.field !== undefined) body.error.field = err.field;
  if (err.statusCode === 401) reply.header('www-authenticate', 'Bearer realm="quorumd"');
  return reply.code(err.statusCode).type('application/json; charset=utf-8').send(body);
}

/** toApiError turns whatever was thrown into the answer the client gets. */
export function toApiError(err: FastifyError, bodyLimit: number): ApiError {
  if (err instanceof ApiError) return err;
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'unsupported_media_type', 'the body must be JSON, sent with Content-Type: application/json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'body_too_large', `the body must be at most ${bodyLimit} bytes`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'invalid_json', 'the body is empty but Content-Type says JSON');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError(400, 'invalid_json', 'the body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError(400, 'bad_request', 'the body size does not match Content-Length');
  }
  const status = err.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 600) {
    // Any other error with a status (fastify's own) keeps that status under
    // a generic code; only a client error keeps its message.
    return new ApiError(status, genericCode(status), status >= 500 ? 'internal error' : err.message);
  }
  return new ApiError(500, 'internal_error', 'internal error');
}

function genericCode(status: number): string {
  return (STATUS_CODES[status] ?? 'error').toLowerCase().replace(/[^a-z0-9]+/g, '_');
}

/**
 * answerFrameworkError is fastify's `frameworkErrors` option: a request it
 * could not route (a malformed URL, say) is a 400 in the error shape.
 */
export function answerFrameworkError(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  void sendError(reply, new ApiError(400, 'bad_request', err.message));
}

/**
 * installErrorHandlers installs the error handler and the not-found handler on the
 * app itself (not in a child context), so they cover every route.
 */
export function installErrorHandlers(app: App, opts: { readonly bodyLimit: number }): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const answer = toApiError(err, opts.bodyLimit);
    if (answer.statusCode >= 500) request.log.error({ err }, 'request failed');
    else request.log.debug({ err: answer }, 'request refused');
    return sendError(reply, answer);
  });
  app.setNotFoundHandler((request, reply) => {
    return sendError(reply, new ApiError(404, 'not_found', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`));
  });
}
