import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../../runtime.ts';
import { ServiceError } from '../../services/errors.ts';
import type { Principal } from '../../services/principal.ts';
import { handleError, setErrorHeaders } from '../errors.ts';
import { html } from './html.ts';
import { sendPage } from './layout.ts';
import { csrfToken } from './security.ts';
import { sessionViewer } from './session.ts';

const TITLES: Record<number, string> = {
  400: 'That request was not right',
  401: 'Please sign in',
  403: 'Not allowed',
  404: 'Not found',
  413: 'Too large',
  429: 'Slow down',
  500: 'Something went wrong',
};

/** Scripts ask for JSON (and get the API's error shape); browsers navigating get a page. */
export const wantsJson = (request: FastifyRequest) => {
  const accept = request.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
};

/** An error page; given a signed-in user, with their navigation. */
export function sendErrorPage(
  rt: Runtime,
  reply: FastifyReply,
  status: number,
  message: string,
  signedIn?: { viewer: Principal; csrf: string },
) {
  const title = TITLES[status] ?? 'Something went wrong';
  return sendPage(
    rt,
    reply,
    {
      title,
      ...signedIn,
      body: html`<div class="narrow card"><h1>${title}</h1><p>${message}</p><p><a href="/">Back to Gazo</a></p></div>`,
    },
    status,
  );
}

/** The web group's errors: HTML pages for browsers, the JSON error shape for the pages' scripts. */
export function webErrorHandler(rt: Runtime) {
  return async (error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    if (wantsJson(request)) return handleError(error, request, reply);
    const fe = error as FastifyError;
    // The navigation shows who is signed in, as on every other page (a failed lookup shows a visitor's).
    const viewer = await sessionViewer(rt.sessions, request).catch(() => undefined);
    const signedIn = viewer && { viewer, csrf: csrfToken(reply) };
    const page = (status: number, message: string) => sendErrorPage(rt, reply, status, message, signedIn);
    if (error instanceof ServiceError) {
      setErrorHeaders(reply, error);
      return page(error.status, error.message);
    }
    if (fe.code?.startsWith('FST_CSRF')) {
      return page(
        403,
        'The form had expired or did not come from this site. Go back, reload the page and try again.',
      );
    }
    if (fe.validation) return page(400, fe.message);
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      return page(fe.statusCode, fe.message);
    }
    request.log.error({ err: error }, 'unhandled error');
    return page(500, 'The server could not answer; the details are in its log.');
  };
}
