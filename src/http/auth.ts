import type { FastifyRequest } from 'fastify';
import type { AccountsService, Credential } from '../services/accounts.service.ts';
import { unauthorized } from '../services/errors.ts';
import type { UserRow } from '../store/schema.ts';

/**
 * The access token, wherever the client put it (COMPAT.md): `Authorization: Bearer`, the
 * query string (on any method), a url-encoded or JSON body, or a multipart field (`fields`).
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
async function authenticate(
  request: FastifyRequest,
  check: () => Promise<Credential | undefined>,
): Promise<UserRow | undefined> {
  const limits = request.server.authLimits;
  await limits.beforeCheck(request);
  const credential = await check();
  if (!credential) {
    await limits.failed(request);
    return undefined;
  }
  await limits.spend(request, credential.key);
  return credential.user;
}

export async function requireUser(
  accounts: AccountsService,
  request: FastifyRequest,
  fields?: Record<string, string>,
): Promise<UserRow> {
  const token = tokenFrom(request, fields);
  if (!token) throw unauthorized('You are not authorized: send an access_token');
  const user = await authenticate(request, () => accounts.checkToken(token));
  if (!user) throw unauthorized('You are not authorized: the access_token is unknown or revoked');
  return user;
}

/** The viewer of a public page or file, if they identify themselves; never a 401. */
export async function optionalUser(
  accounts: AccountsService,
  request: FastifyRequest,
): Promise<UserRow | undefined> {
  const token = tokenFrom(request);
  return token ? authenticate(request, () => accounts.checkToken(token)) : undefined;
}

/** The owner of a legacy desktop client's device id (upload.cgi), or undefined. */
export function deviceUser(
  accounts: AccountsService,
  request: FastifyRequest,
  deviceId: string,
): Promise<UserRow | undefined> {
  return authenticate(request, () => accounts.checkDevice(deviceId));
}
