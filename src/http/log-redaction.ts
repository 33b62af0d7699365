import type { FastifyRequest, FastifyServerOptions } from 'fastify';

/** Query parameters that carry a credential, by their decoded name, in any case. */
const SECRET_PARAMETER = /token|secret|password|passwd|^code$|^api_?key$|^key$|^sig(nature)?$/i;

const CLAIM_TOKEN = /(\/api\/upload\/|%2Fapi%2Fupload%2F)(?!easy_auth\b)[A-Za-z0-9_-]+/gi;

/**
 * The URL with the value of every token-like query parameter (and an invite or easy_auth link's
 * token, which is in its path) replaced by `[REDACTED]`. Names are decoded as Fastify's query parser decodes
 * them (`access%5Ftoken` is `access_token`), so a parameter the server reads as a token is
 * never written in clear.
 */
export function redactUrl(requested: string): string {
  const url = requested
    .replace(/^\/invite\/[^/?#]+/, '/invite/[REDACTED]')
    // An easy_auth claim link's token is in its path (and in the sign-in page's `next`).
    .replace(CLAIM_TOKEN, '$1[REDACTED]');
  const start = url.indexOf('?');
  if (start === -1) return url;
  const pairs = url
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      if (equals === -1) return pair;
      const rawName = pair.slice(0, equals);
      let name = rawName.replace(/\+/g, ' ');
      try {
        name = decodeURIComponent(name);
      } catch {
        // the query parser keeps an undecodable name as it is; so do we
      }
      return SECRET_PARAMETER.test(name) ? `${rawName}=[REDACTED]` : pair;
    });
  return `${url.slice(0, start)}?${pairs.join('&')}`;
}

/** Fastify's own request serializer, but with the URL redacted. */
function requestForLog(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** The logger options with the redacting request serializer added (nothing, when logging is off). */
export function redactingLogger(logger: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (!logger) return false;
  const base = logger === true ? {} : logger;
  return { ...base, serializers: { ...base.serializers, req: requestForLog } };
}
