import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GazoApp } from '../types.ts';

/** How a route answers browsers on other origins (its `config: { cors }`); the API's by default. */
export type CorsPolicy = 'token' | 'credentialed' | false;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route's CORS policy: 'token' (the API's, the default), 'credentialed', or false for none. */
    cors?: CorsPolicy;
  }
}

/** What a browser app may read from an API answer besides the CORS-safelisted headers. */
const EXPOSED_HEADERS =
  'X-Total-Count, X-Total-Count-Exact, X-Current-Page, X-Per-Page, X-User-Type, Retry-After';

/**
 * The API's policy, 'token': any origin, never credentials. The API takes tokens only (never a
 * cookie), so a page on another origin gains nothing it could not do with the token it holds;
 * without `Access-Control-Allow-Credentials` a browser sends no cookie and reads no credentialed
 * answer.
 */
const TOKEN_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': EXPOSED_HEADERS,
};

/** What a preflight adds, under either policy. Browsers keep one at most 2 hours (Chromium's cap). */
const PREFLIGHT_HEADERS = {
  'access-control-allow-methods': 'GET, HEAD, POST, PATCH, DELETE',
  'access-control-allow-headers': 'Authorization, Content-Type',
  'access-control-max-age': '7200',
};

/**
 * 'credentialed', for routes that browsers call with their cookies (easy_auth): the caller's
 * origin echoed (never `*`, which browsers refuse with credentials), credentials allowed, and
 * `Vary: Origin` since the answer then depends on it. Give it as the route's
 * `config: { cors: 'credentialed' }` and declare its preflight with `credentialedPreflight`.
 */
function addCredentialedHeaders(request: FastifyRequest, reply: FastifyReply): void {
  reply.header('vary', 'Origin');
  const origin = request.headers.origin;
  if (origin) reply.header('access-control-allow-origin', origin);
  reply.header('access-control-allow-credentials', 'true');
  reply.header('access-control-expose-headers', EXPOSED_HEADERS);
}

/** The preflight of a route that uses the 'credentialed' policy, answered under it. */
export function credentialedPreflight(app: GazoApp, url: string): void {
  app.options(url, { config: { cors: 'credentialed' }, schema: { hide: true } }, answerPreflight);
}

/** 204 with the preflight headers; the policy's own headers were set by the hook. */
function answerPreflight(_request: FastifyRequest, reply: FastifyReply): void {
  reply.headers(PREFLIGHT_HEADERS).header('content-length', '0').code(204).send();
}

/**
 * CORS on every route of the API plugin (its hooks are encapsulated there), and every preflight
 * under `/api/` answered before authentication, also a bare OPTIONS without an Origin (curl, a
 * monitor). Pages and other groups are left alone.
 *
 * Written here rather than with @fastify/cors: that plugin copies its options object for every
 * request and sets each header on its own, 6 % of the CPU of a cached list page (perf), for a
 * policy that is two fixed headers. The policy is this file; test/api/cors.test.ts holds it.
 */
export function registerApiCors(app: GazoApp): void {
  // Callback style, not async: this runs on every API request.
  app.addHook('onRequest', (request, reply, done) => {
    const policy = request.routeOptions.config.cors ?? 'token';
    if (policy === 'token') reply.headers(TOKEN_HEADERS);
    else if (policy === 'credentialed') addCredentialedHeaders(request, reply);
    done();
  });
  app.options('/api/*', { schema: { hide: true } }, answerPreflight);
}
