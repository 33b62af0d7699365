import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../../runtime.ts';
import { ServiceError } from '../../services/errors.ts';
import { OAuthProblem } from '../../services/oauth.service.ts';
import { setErrorHeaders } from '../errors.ts';
import type { GazoApp } from '../types.ts';
import { tokenRoute } from './token.ts';

/** RFC 6749 §5.2: `{error, error_description}`, JSON, never cached. */
function sendOAuthError(reply: FastifyReply, status: number, error: string, description: string) {
  if (status === 401) reply.header('WWW-Authenticate', 'Basic realm="gazo"');
  return reply
    .code(status)
    .header('Cache-Control', 'no-store')
    .type('application/json; charset=utf-8')
    .send({ error, error_description: description });
}

function oauthErrorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof OAuthProblem) return sendOAuthError(reply, error.status, error.error, error.message);
  if (error instanceof ServiceError) {
    // A 429 from the failed-authentication limit, a malformed multipart body, and the like.
    setErrorHeaders(reply, error);
    if (error.status < 500) return sendOAuthError(reply, error.status, 'invalid_request', error.message);
  }
  const status = (error as FastifyError).statusCode;
  if (status && status >= 400 && status < 500) {
    // A body that is not JSON, is too large, or of a type nobody reads (415 is not in RFC 6749).
    return sendOAuthError(reply, status === 415 ? 400 : status, 'invalid_request', error.message);
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendOAuthError(
    reply,
    500,
    'server_error',
    'The server could not answer; the details are in its log',
  );
}

/** The OAuth 2 token endpoint (`/oauth/authorize` is a page: web/pages/oauth-authorize.ts). */
export async function oauthRoutes(app: GazoApp, rt: Runtime) {
  app.setErrorHandler(oauthErrorHandler);
  tokenRoute(app, rt);
}
