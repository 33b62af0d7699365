import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ServiceError } from '../services/errors.ts';

const KNOWN = new Set([400, 401, 402, 403, 404, 405, 413, 422, 429]);

/** The path alone: the query string may carry an access token and must never be echoed. */
export const requestPath = (request: FastifyRequest) => request.url.split('?')[0] ?? '/';

/** A limit was reached: 429, saying how long to wait (Retry-After helps clients that retry). */
export class TooManyRequests extends ServiceError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(429, message);
  }
}

/** Sets the headers an error calls for; shared with routes that answer errors in plain text. */
export function setErrorHeaders(reply: FastifyReply, error: unknown) {
  if (error instanceof TooManyRequests) {
    reply.header('Retry-After', String(Math.max(1, Math.ceil(error.retryAfterSeconds))));
  }
}

export function errorBody(request: FastifyRequest, message: string) {
  return { message, request: requestPath(request), method: request.method };
}

export function sendError(request: FastifyRequest, reply: FastifyReply, status: number, message: string) {
  return reply.code(status).type('application/json; charset=utf-8').send(errorBody(request, message));
}

/** Turns anything thrown into the Gyazo error shape; the details of a 500 stay in the log. */
export function handleError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof ServiceError) {
    setErrorHeaders(reply, error);
    return sendError(request, reply, error.status, error.message);
  }
  const fe = error as FastifyError;
  if (fe.validation) return sendError(request, reply, 400, fe.message);
  // A body of a type no route reads (raw image bytes, none at all): 415 is not among the statuses
  // Gyazo clients know (COMPAT.md), so it is a plain bad request.
  if (fe.statusCode === 415) return sendError(request, reply, 400, fe.message);
  if (fe.statusCode && KNOWN.has(fe.statusCode)) {
    const message = fe.statusCode === 413 ? 'Request body is too large' : fe.message;
    return sendError(request, reply, fe.statusCode, message);
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendError(request, reply, 500, 'Internal Server Error');
}
