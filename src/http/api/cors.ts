import cors, { type FastifyCorsOptions } from '@fastify/cors';
import type { GazoApp } from '../types.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route's CORS policy over the API's (merged into it); false for no CORS headers. */
    cors?: FastifyCorsOptions | false;
  }
}

/** What a browser app may read from an API answer besides the CORS-safelisted headers. */
const EXPOSED_HEADERS = [
  'X-Total-Count',
  'X-Total-Count-Exact',
  'X-Current-Page',
  'X-Per-Page',
  'X-User-Type',
  'Retry-After',
];

/**
 * The API's CORS policy: any origin, never credentials. The API takes tokens only (never a
 * cookie), so a page on another origin gains nothing it could not do with the token it holds;
 * without `Access-Control-Allow-Credentials` a browser sends no cookie and reads no credentialed
 * answer.
 */
const API_CORS: FastifyCorsOptions = {
  origin: '*',
  credentials: false,
  methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
  allowedHeaders: ['Authorization', 'Content-Type'],
  exposedHeaders: EXPOSED_HEADERS,
  // Browsers keep a preflight at most this long (Chromium caps it at 2 hours).
  maxAge: 7200,
  // A bare OPTIONS (no Origin: curl, a monitor) is answered 204 too, not a plain-text 400.
  strictPreflight: false,
};

/**
 * A route's own policy for browsers that call it with their cookies (easy_auth): the caller's
 * origin echoed (never `*`, which browsers refuse with credentials) and credentials allowed.
 * Give it as the route's `config: { cors: CREDENTIALED_CORS }` and declare the route's preflight
 * with `credentialedPreflight`. (`config: { cors: false }` sends no CORS headers at all.)
 */
export const CREDENTIALED_CORS: FastifyCorsOptions = { origin: true, credentials: true };

/** The preflight of a route that uses CREDENTIALED_CORS: answered with the same policy. */
export function credentialedPreflight(app: GazoApp, url: string): void {
  app.options(url, { config: { cors: CREDENTIALED_CORS }, schema: { hide: true } }, (_request, reply) =>
    reply.code(204).send(),
  );
}

/**
 * CORS on every route of the API plugin (its hooks are encapsulated there), preflights answered
 * before authentication. @fastify/cors declares its preflight route as `OPTIONS *`, which would
 * answer every path of the server; it is declared as `OPTIONS /api/*` instead, so that pages and
 * other groups keep their own answer (and may register a CORS plugin of their own).
 */
export async function registerApiCors(app: GazoApp): Promise<void> {
  app.addHook('onRoute', (route) => {
    if (route.method === 'OPTIONS' && route.url === '*') {
      route.url = '/api/*';
      route.path = '/api/*';
    }
  });
  await app.register(cors, API_CORS);
}
