/**
 * Points a Node.js program whose Gyazo hosts are written into its code (the official Gyazo MCP
 * server, the npm `gyazo-api` client, scripts) at a Gazo server, without changing the program:
 *
 *   GAZO_URL=https://gazo.example.com node --import gazo/gyazo-hosts program.js
 *
 * Requests to gyazo.com, api.gyazo.com, upload.gyazo.com and i.gyazo.com made with `fetch` or
 * with `http(s).request` (what `request`, `superagent` and `axios` use) go to GAZO_URL instead,
 * with the same path and query. Nothing else is touched.
 */
import http from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';

const GYAZO_HOSTS = new Set(['gyazo.com', 'api.gyazo.com', 'upload.gyazo.com', 'i.gyazo.com']);

const target = (() => {
  const raw = process.env.GAZO_URL;
  if (!raw) throw new Error('gazo/gyazo-hosts: set GAZO_URL to your Gazo server (https://gazo.example.com)');
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`gazo/gyazo-hosts: GAZO_URL must be http(s), got ${raw}`);
  }
  return url;
})();

const isGyazo = (hostname: string | null | undefined) =>
  !!hostname && GYAZO_HOSTS.has(hostname.replace(/\.$/, '').toLowerCase());

/** The same URL on the Gazo server, or undefined when it is not a Gyazo URL. */
export function toGazo(url: URL): URL | undefined {
  if (!isGyazo(url.hostname)) return undefined;
  const moved = new URL(url.pathname + url.search, target);
  moved.hash = url.hash;
  return moved;
}

const originalFetch = globalThis.fetch;
globalThis.fetch = (input: string | URL | Request, init?: RequestInit) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const moved = toGazo(url);
  if (!moved) return originalFetch(input, init);
  return originalFetch(input instanceof Request ? new Request(moved, input) : moved, init);
};

type RequestFn = typeof http.request;
const originals = { 'http:': http.request, 'https:': https.request } as const;

/** Wraps `module.request` and `module.get` so that a request to a Gyazo host goes to GAZO_URL. */
function redirect(module: typeof http | typeof https, protocol: 'http:' | 'https:') {
  const original = originals[protocol];
  const request = ((...args: unknown[]) => {
    const { options, callback } = normalise(args, protocol);
    if (!isGyazo(options.hostname ?? options.host?.split(':')[0])) {
      return (original as (...a: unknown[]) => http.ClientRequest)(...args);
    }
    const port = target.port || (target.protocol === 'https:' ? '443' : '80');
    const moved: https.RequestOptions = {
      ...options,
      protocol: target.protocol,
      hostname: target.hostname,
      host: undefined,
      port,
      // The caller's agent speaks the caller's protocol; the default agent of the target's is used.
      agent: undefined,
      servername: target.hostname,
      headers: { ...(options.headers as Record<string, string>), host: target.host },
    };
    const send = originals[target.protocol as 'http:' | 'https:'] as RequestFn;
    return callback ? send(moved, callback) : send(moved);
  }) as RequestFn;
  module.request = request;
  module.get = ((...args: unknown[]) => {
    const req = (request as (...a: unknown[]) => http.ClientRequest)(...args);
    req.end();
    return req;
  }) as typeof http.get;
}

/** `request(url[, options][, callback])` or `request(options[, callback])`, as one options object. */
function normalise(args: unknown[], protocol: string) {
  let options: https.RequestOptions = {};
  let callback: ((res: http.IncomingMessage) => void) | undefined;
  for (const arg of args) {
    if (typeof arg === 'function') callback = arg as typeof callback;
    else if (typeof arg === 'string' || arg instanceof URL) {
      const url = new URL(String(arg));
      options = {
        ...options,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
      };
    } else if (arg && typeof arg === 'object') options = { ...options, ...(arg as https.RequestOptions) };
  }
  options.protocol ??= protocol;
  return { options, callback };
}

redirect(http, 'http:');
redirect(https, 'https:');
// So that `import { request } from 'node:https'` sees the wrapped functions too.
syncBuiltinESMExports();
