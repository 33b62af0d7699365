import { createHash, randomBytes } from 'node:crypto';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../../runtime.ts';
import type { GazoApp } from '../types.ts';
import { SESSION_COOKIE } from './session.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: this state-changing web route is reached cross-site on purpose and checks no CSRF token. */
    csrf?: boolean;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Secure cookies over https: always when the web URL is https, else as the request came (proxy-aware). */
export const cookieSecurity = (rt: Runtime): true | 'auto' =>
  rt.config.urls.web.startsWith('https:') ? true : 'auto';

/**
 * Cookies and CSRF protection for the web group. The CSRF secret lives in its own cookie and
 * every token is bound to the session cookie it was made for (so a token from one session, or
 * from before signing in, is refused in another). Every state-changing request must carry the
 * token: the `_csrf` form field, or the `X-CSRF-Token` header (scripts, multipart).
 */
export async function registerWebSecurity(app: GazoApp, rt: Runtime) {
  const cookieSecret = await rt.store.secrets.getOrCreate('cookie', () =>
    randomBytes(32).toString('base64url'),
  );
  const csrfKey = await rt.store.secrets.getOrCreate('csrf-hmac', () =>
    randomBytes(32).toString('base64url'),
  );
  await app.register(cookie, { secret: cookieSecret });
  await app.register(csrf, {
    cookieKey: 'gazo_csrf',
    cookieOpts: { signed: true, httpOnly: true, sameSite: 'lax', path: '/', secure: cookieSecurity(rt) },
    getUserInfo: (request: FastifyRequest) => sessionBinding(request),
    csrfOpts: { userInfo: true, hmacKey: csrfKey },
  });
  app.addHook('preHandler', (request, reply, done) => {
    if (SAFE_METHODS.has(request.method) || request.routeOptions.config.csrf === false) return done();
    app.csrfProtection(request, reply, done);
  });
}

/** What a CSRF token is bound to: the session cookie (hashed), or nothing before signing in. */
function sessionBinding(request: FastifyRequest): string {
  const id = request.cookies[SESSION_COOKIE];
  return id ? createHash('sha256').update(id).digest('base64url') : '-';
}

/**
 * A CSRF token for the page being rendered, bound to `sessionId` (the one just set, at sign-in)
 * or to the request's own session cookie.
 */
export function csrfToken(reply: FastifyReply, sessionId?: string): string {
  const binding =
    sessionId === undefined
      ? sessionBinding(reply.request)
      : createHash('sha256').update(sessionId).digest('base64url');
  return reply.generateCsrf({ userInfo: binding });
}

/**
 * Checks a CSRF token that a route read itself (the `_csrf` field of a multipart form, which the
 * preHandler cannot see: multipart bodies are streamed by the route). Throws the plugin's 403.
 */
export function assertCsrfToken(request: FastifyRequest, reply: FastifyReply, token: string | undefined) {
  let refused: Error | undefined;
  let passed = false;
  // The plugin reads the token from `body._csrf` and answers a failure with `reply.send(error)`.
  const asIf = Object.create(request, { body: { value: { _csrf: token ?? '' } }, headers: { value: {} } });
  const answer = Object.create(reply, { send: { value: (error: Error) => (refused = error) } });
  request.server.csrfProtection(asIf, answer, () => {
    passed = true;
  });
  if (refused || !passed) throw refused ?? new Error('CSRF check did not complete');
}
