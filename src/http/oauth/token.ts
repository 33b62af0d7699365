import type { FastifyRequest } from 'fastify';
import type { Runtime } from '../../runtime.ts';
import { badRequest } from '../../services/errors.ts';
import { OAuthProblem } from '../../services/oauth.service.ts';
import { readUploadForm } from '../multipart.ts';
import type { GazoApp } from '../types.ts';

/** A token request is a handful of short parameters. */
const BODY_LIMIT = 16 * 1024;

/**
 * The token request's parameters from wherever the client put them (COMPAT.md): a url-encoded,
 * JSON or multipart body, and the query string. Each must be a single string.
 */
async function tokenParams(request: FastifyRequest): Promise<Record<string, string>> {
  let body: unknown = request.body;
  if (/^multipart\/form-data\b/i.test(request.headers['content-type'] ?? '')) {
    const noFiles = () => Promise.reject(badRequest('A token request carries no files'));
    body = (await readUploadForm(request, noFiles, 1)).fields;
  }
  if (body !== undefined && body !== null && typeof body !== 'object') {
    throw new OAuthProblem(
      'invalid_request',
      'Send the parameters url-encoded, as JSON or multipart/form-data (or in the query string)',
      400,
    );
  }
  const params: Record<string, string> = {};
  for (const source of [request.query, body]) {
    if (!source || typeof source !== 'object') continue;
    for (const [name, value] of Object.entries(source as Record<string, unknown>)) {
      if (typeof value !== 'string') {
        throw new OAuthProblem('invalid_request', `${name} must be given once, as a string`, 400);
      }
      if (params[name] !== undefined && params[name] !== value) {
        throw new OAuthProblem('invalid_request', `${name} is given twice, with different values`, 400);
      }
      params[name] = value;
    }
  }
  return params;
}

export function tokenRoute(app: GazoApp, rt: Runtime) {
  app.post(
    '/oauth/token',
    {
      bodyLimit: BODY_LIMIT,
      schema: {
        summary: 'Exchange an authorization code for an access token (RFC 6749 §4.1.3)',
        tags: ['oauth'],
      },
    },
    async (request, reply) => {
      const limits = request.server.authLimits;
      // Wrong client secrets count against the address like wrong tokens (auth-limits.ts).
      await limits.beforeCheck(request);
      const params = await tokenParams(request);
      let token: { accessToken: string; scope: string };
      try {
        token = await rt.oauth.exchange(params, request.headers.authorization);
      } catch (err) {
        if (err instanceof OAuthProblem && err.error === 'invalid_client') await limits.failed(request);
        throw err;
      }
      // RFC 6749 §5.1: token responses are never cached.
      reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache');
      return {
        access_token: token.accessToken,
        token_type: 'bearer',
        scope: token.scope,
        created_at: Math.floor(Date.now() / 1000),
      };
    },
  );
}
