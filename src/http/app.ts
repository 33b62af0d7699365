import type { IncomingMessage, ServerResponse } from 'node:http';
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Runtime } from '../runtime.ts';
import { apiRoutes } from './api/index.ts';
import { registerAuthLimits } from './auth-limits.ts';
import { COMMON_HEADERS } from './common-headers.ts';
import { handleError, sendError } from './errors.ts';
import { legacyRoutes } from './legacy/index.ts';
import { redactingLogger } from './log-redaction.ts';
import { httpServer, networkOptions } from './network.ts';
import { oauthRoutes } from './oauth/index.ts';
import { lazyChildLoggerFactory } from './request-logger.ts';
import { ErrorSchema, WireImageSchema } from './schemas.ts';
import { serviceRoutes } from './service-routes.ts';
import { createFastify, type GazoApp } from './types.ts';
import { sendErrorPage } from './web/errors.ts';
import { hotOriginals } from './web/hot-originals.ts';
import { webRoutes } from './web/index.ts';

/** The whole HTTP surface of Gazo on one Fastify instance; listening is the caller's business. */
export async function buildApp(rt: Runtime, options: { logger?: FastifyServerOptions['logger'] } = {}) {
  // Set once the app exists: public originals in memory, answered before Fastify (hot-originals.ts).
  let hot: ((request: IncomingMessage, response: ServerResponse) => boolean) | undefined;
  const logger = redactingLogger(options.logger);
  const app = createFastify({
    logger,
    // Without a logger Fastify's requests share its silent one; with one, each gets a child lazily.
    ...(logger ? { childLoggerFactory: lazyChildLoggerFactory } : {}),
    ...networkOptions(rt.config.network),
    serverFactory: (handler, settings) =>
      httpServer(settings, (request, response) => {
        if (!hot?.(request, response)) handler(request, response);
      }),
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false } },
  });

  // Past the cap, node closes new connections at once rather than queueing them.
  app.server.maxConnections = rt.config.network.maxConnections;
  // With request logging on (--log-level info), every request goes through Fastify to be logged.
  // (With logging off Fastify's logger has no levels at all.)
  const log = app.log as { isLevelEnabled?: (level: string) => boolean };
  if (log.isLevelEnabled?.('info') !== true) hot = hotOriginals(rt);
  app.setErrorHandler(handleError);
  // API clients get the JSON error shape; a browser that asked for a page gets one.
  app.setNotFoundHandler((request, reply) => {
    const api = /^\/(api\/|oauth\/token|upload\.cgi)/.test(request.url);
    if (api || !(request.headers.accept ?? '').includes('text/html')) {
      return sendError(request, reply, 404, 'Not Found');
    }
    return sendErrorPage(rt, reply, 404, 'There is no page at this address.');
  });
  app.addSchema(WireImageSchema);
  app.addSchema(ErrorSchema);

  await registerAuthLimits(app, rt.config.rateLimits);
  await app.register(formbody);
  // Multipart bodies are left unread here: the upload routes stream them (see multipart.ts),
  // after checking a token in the header or query and the declared length.
  app.addContentTypeParser('multipart/form-data', (_request, _payload, done) => done(null));
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Gazo',
        description: 'A self-hosted image host that speaks the Gyazo API',
        version: '1',
      },
      servers: [{ url: rt.config.urls.api }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          queryToken: { type: 'apiKey', in: 'query', name: 'access_token' },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });

  // Callback style, not async: this runs on every response, and a promise per hook shows up.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(COMMON_HEADERS);
    done();
  });

  // Every route that takes a token may answer 429 (auth-limits.ts): the OpenAPI says so.
  app.addHook('onRoute', (route) => {
    const schema = route.schema as { security?: unknown; response?: Record<string, unknown> } | undefined;
    if (schema?.security && schema.response) schema.response[429] ??= Type.Ref('Error');
  });
  // Route groups, each an encapsulated plugin with its own authentication and error format.
  await app.register(async (api) => apiRoutes(api, rt));
  await app.register(async (legacy) => legacyRoutes(legacy, rt));
  await app.register(async (web) => webRoutes(web, rt));
  await app.register(async (oauth) => oauthRoutes(oauth, rt));
  serviceRoutes(app, rt);
  return app as unknown as FastifyInstance & GazoApp;
}
