import type { FastifyRequest } from 'fastify';
import type { Runtime } from '../../runtime.ts';
import type { Principal } from '../../services/principal.ts';
import { optionalUser } from '../auth.ts';
import { sessionViewer } from './session.ts';

/**
 * Who is looking at a page or an image file: a token (as the API's clients send one) or the
 * browser's session. Only for reading: state-changing web routes also need a CSRF token.
 */
export async function webViewer(rt: Runtime, request: FastifyRequest): Promise<Principal | undefined> {
  return (await optionalUser(rt.accounts, request)) ?? (await sessionViewer(rt.sessions, request));
}
