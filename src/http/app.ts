import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Runtime } from '../runtime.ts';
import { handleError, sendError } from './errors.ts';
import { registerRoutes } from './routes/index.ts';
import { ErrorSchema, WireImageSchema } from './schemas.ts';

export function createFastify(options: FastifyServerOptions) {
  return Fastify(options).withTypeProvider<TypeBoxTypeProvider>();
}
export type GazoApp = ReturnType<typeof createFastify>;

/** The whole HTTP surface of Gazo on one Fastify instance; listening is the caller's business. */
export async function buildApp(rt: Runtime, options: { logger?: FastifyServerOptions['logger'] } = {}) {
  const app = createFastify({
    logger: options.logger ?? false,
    // Behind a proxy the client address comes from X-Forwarded-For; harmless when there is none.
    trustProxy: true,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false } },
  });

  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => sendError(request, reply, 404, 'Not Found'));
  app.addSchema(WireImageSchema);
  app.addSchema(ErrorSchema);

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
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'strict-origin-when-cross-origin');
    done();
  });

  registerRoutes(app, rt);
  return app as unknown as FastifyInstance & GazoApp;
}
