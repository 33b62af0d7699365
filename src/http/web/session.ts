import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../services/principal.ts';
import { SESSION_IDLE_MS, type SessionsService } from '../../services/sessions.service.ts';

/** The session cookie: a random id, HttpOnly, SameSite=Lax, Secure over https. */
export const SESSION_COOKIE = 'gazo_session';

export function sessionCookieOptions(secure: boolean | 'auto'): CookieSerializeOptions {
  return {
    httpOnly: true,
    sameSite: 'lax',
    secure,
    path: '/',
    maxAge: Math.floor(SESSION_IDLE_MS / 1000),
  };
}

const viewers = new WeakMap<FastifyRequest, Promise<Principal | undefined>>();

/** The signed-in user of this request, from its session cookie (looked up once per request). */
export function sessionViewer(
  sessions: SessionsService,
  request: FastifyRequest,
): Promise<Principal | undefined> {
  let viewer = viewers.get(request);
  if (!viewer) {
    const id = request.cookies?.[SESSION_COOKIE];
    viewer = id ? sessions.resolve(id) : Promise.resolve(undefined);
    viewers.set(request, viewer);
  }
  return viewer;
}

/** Starts the browser on a new session (a new id every time: a planted cookie gains nothing). */
export function setSessionCookie(reply: FastifyReply, sessionId: string, secure: boolean | 'auto') {
  reply.setCookie(SESSION_COOKIE, sessionId, sessionCookieOptions(secure));
}

export function clearSessionCookie(reply: FastifyReply, secure: boolean | 'auto') {
  reply.clearCookie(SESSION_COOKIE, { ...sessionCookieOptions(secure), maxAge: undefined });
}
