import { createServer, type RequestListener, type Server } from 'node:http';
import type { FastifyHttpOptions, FastifyServerOptions } from 'fastify';
import type { Config } from '../config.ts';

/**
 * Whom to believe about the client address (X-Forwarded-For), and how long a client may hold a
 * connection: the Fastify and node:http settings that `--trust-proxy`, the timeouts and
 * `--max-connections` stand for. The connection cap is set on the server once it exists.
 */
export function networkOptions(network: Config['network']): FastifyHttpOptions<Server> {
  return {
    trustProxy: trustProxyOption(network.trustProxy),
    keepAliveTimeout: network.idleTimeoutMs,
    requestTimeout: network.requestTimeoutMs,
    http: {
      headersTimeout: network.headersTimeoutMs,
      // How often node looks for requests past their headers or request timeout; its default of
      // 30 s would let a slow client hold on for that long past the limit.
      connectionsCheckingInterval: Math.min(1000, network.headersTimeoutMs),
    },
  };
}

function trustProxyOption(trust: Config['network']['trustProxy']): FastifyServerOptions['trustProxy'] {
  if (trust === false) return false;
  // Fastify 5 refuses to believe anything for a bare hop count (it cannot check the nearest peer);
  // an operator who gives a count says every connection comes through that many proxies.
  if (typeof trust === 'number') return (_address: string, hop: number) => hop < trust;
  return trust;
}

/**
 * The node:http server as Fastify would make it from these settings (its timeouts), but with
 * our own request listener: Fastify's `serverFactory` leaves the settings to the factory.
 */
export function httpServer(settings: FastifyHttpOptions<Server>, listener: RequestListener): Server {
  const server = createServer(settings.http ?? {}, listener);
  if (settings.keepAliveTimeout !== undefined) server.keepAliveTimeout = settings.keepAliveTimeout;
  if (settings.requestTimeout !== undefined) server.requestTimeout = settings.requestTimeout;
  server.setTimeout(settings.connectionTimeout ?? 0);
  if (settings.maxRequestsPerSocket) server.maxRequestsPerSocket = settings.maxRequestsPerSocket;
  return server;
}
