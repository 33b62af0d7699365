import type { FastifyRequest } from 'fastify';
import type { AccountsService, Credential } from '../services/accounts.service.ts';
import { forbidden, unauthorized } from '../services/errors.ts';
import type { Principal, Scope } from '../services/principal.ts';

/**
 * The access token, wherever the client put it (COMPAT.md): `Authorization: Bearer`, the
 * query string (on any method), a url-encoded or JSON body, or a multipart field (`fields`).
 * Never a cookie: the API is not reachable through a browser session.
 */
export function tokenFrom(request: FastifyRequest, fields?: Record<string, string>): string | undefined {
  const header = request.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match?.[1]) return match[1];
  }
  const query = request.query as Record<string, unknown> | undefined;
  if (typeof query?.access_token === 'string' && query.access_token !== '') return query.access_token;
  const body = request.body as Record<string, unknown> | undefined;
  if (body && typeof body === 'object' && typeof body.access_token === 'string' && body.access_token !== '') {
    return body.access_token;
  }
  if (fields?.access_token) return fields.access_token;
  return undefined;
}

/**
 * Every credential check goes through here, so that the limits (auth-limits.ts) see them all:
 * an address past its failed authentications is refused before the check, a failure is counted,
 * and a success is counted against the credential's daily budget.
 */
export async function authenticate(
  request: FastifyRequest,
  check: () => Promise<Credential | undefined>,
): Promise<Principal | undefined> {
  const limits = request.server.authLimits;
  await limits.beforeCheck(request);
  const credential = await check();
  if (!credential) {
    await limits.failed(request);
    return undefined;
  }
  await limits.spend(request, credential.key);
  return credential.principal;
}

/** A token's principal, which must have `scope` (OAuth apps get only what the user granted). */
export async function requireUser(
  accounts: AccountsService,
  request: FastifyRequest,
  scope: Scope,
  fields?: Record<string, string>,
): Promise<Principal> {
  const token = tokenFrom(request, fields);
  if (!token) throw unauthorized('You are not authorized: send an access_token');
  const principal = await authenticate(request, () => accounts.checkToken(token));
  if (!principal) throw unauthorized('You are not authorized: the access_token is unknown or revoked');
  if (!principal.scopes.has(scope)) {
    throw forbidden(`This access_token was not granted the "${scope}" scope`);
  }
  return principal;
}

/**
 * requireUser's principal without a promise, for the requests clients repeat the most: when the
 * token's answer is in memory, it has `scope`, and no limit needs consulting (auth-limits.ts
 * `idle`). Undefined in every other case, errors included: call requireUser then.
 */
export function keptUser(
  accounts: AccountsService,
  request: FastifyRequest,
  scope: Scope,
): Principal | undefined {
  if (!request.server.authLimits.idle()) return undefined;
  const token = tokenFrom(request);
  const principal = token === undefined ? undefined : accounts.keptToken(token)?.principal;
  return principal?.scopes.has(scope) ? principal : undefined;
}

/** The viewer of a public page or file, if a token identifies them; never a 401. */
export async function optionalUser(
  accounts: AccountsService,
  request: FastifyRequest,
): Promise<Principal | undefined> {
  const token = tokenFrom(request);
  const principal = token ? await authenticate(request, () => accounts.checkToken(token)) : undefined;
  return principal?.scopes.has('public') ? principal : undefined;
}

/** The owner of a legacy desktop client's device id (upload.cgi), or undefined. */
export function deviceUser(
  accounts: AccountsService,
  request: FastifyRequest,
  deviceId: string,
): Promise<Principal | undefined> {
  return authenticate(request, () => accounts.checkDevice(deviceId));
}
