import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isDiskFull } from '../blobs/staged-file.ts';
import { ServiceError } from '../services/errors.ts';

const KNOWN = new Set([400, 401, 402, 403, 404, 405, 413, 422, 429, 507]);

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

/** How long a connection refused mid-body is still read from (and the bytes thrown away). */
const LINGER_MS = 1000;

/**
 * An answer given before the body was read (a limit, a refusal): the connection is closed
 * rather than read to its end. Closing at once would make the client, still sending, get a
 * reset that discards our answer unread; so, as nginx's lingering close does, we stop writing,
 * keep reading for a moment and throw the bytes away, then close.
 */
export function closeAfterAnswer(request: FastifyRequest, reply: FastifyReply): void {
  if (request.raw.complete) return;
  reply.header('Connection', 'close');
  const socket = request.raw.socket as typeof request.raw.socket & { destroySoon?: () => void };
  socket.destroySoon = () => {
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
}

export function sendError(request: FastifyRequest, reply: FastifyReply, status: number, message: string) {
  closeAfterAnswer(request, reply);
  return reply.code(status).type('application/json; charset=utf-8').send(errorBody(request, message));
}

/** Turns anything thrown into the Gyazo error shape; the details of a 500 stay in the log. */
export function handleError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof ServiceError) {
    setErrorHeaders(reply, error);
    return sendError(request, reply, error.status, error.message);
  }
  if (isDiskFull(error))
    return sendError(request, reply, 507, 'The server is out of storage space: nothing was changed');
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
