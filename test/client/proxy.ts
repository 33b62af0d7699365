import http from 'node:http';

/**
 * A small HTTP proxy between a client and a real Gazo server, for the failures the network and
 * the hosted service produce: 429 with Retry-After, a connection dropped mid-request, JSON
 * rewritten as another server would write it, a response held back (to kill a client after
 * the server acted but before the client heard).
 */
export interface ProxyRules {
  /** Answer 429 with `Retry-After: retryAfter` instead of forwarding. `n` counts requests from 1. */
  tooMany?(path: string, method: string, n: number): boolean;
  /** Destroy the connection without an answer. */
  drop?(path: string, method: string, n: number): boolean;
  /** Rewrite a JSON body on its way back. */
  rewriteJson?(path: string, body: unknown): unknown;
  /** Forward, but never deliver the answer (the server has acted; the client never hears). */
  hold?(path: string, method: string): boolean;
  retryAfter?: string;
}

export interface LoggedRequest {
  method: string;
  path: string;
  status: number | 'dropped' | 'held';
  at: number;
}

export interface TestProxy {
  url: string;
  log: LoggedRequest[];
  /** Where requests go; settable after start, since a server's base URL is this proxy's. */
  target: string;
  rules: ProxyRules;
  close(): Promise<void>;
}

const HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'host',
  'content-encoding',
]);

export async function startProxy(rules: ProxyRules = {}): Promise<TestProxy> {
  let n = 0;
  const proxy: TestProxy = {
    url: '',
    log: [],
    target: '',
    rules,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer(async (req, res) => {
    const count = ++n;
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? url;
    const log = (status: LoggedRequest['status']) => proxy.log.push({ method, path, status, at: Date.now() });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (proxy.rules.drop?.(path, method, count)) {
      log('dropped');
      req.socket.destroy();
      return;
    }
    if (proxy.rules.tooMany?.(path, method, count)) {
      log(429);
      res.writeHead(429, {
        'content-type': 'application/json; charset=utf-8',
        'retry-after': proxy.rules.retryAfter ?? '1',
      });
      res.end(JSON.stringify({ message: 'Too Many Requests', request: path, method }));
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (!HOP.has(k) && typeof v === 'string') headers[k] = v;
    const upstream = await fetch(`${proxy.target}${url}`, {
      method,
      headers,
      body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
    });
    let body = Buffer.from(await upstream.arrayBuffer());
    if (proxy.rules.hold?.(path, method)) {
      log('held');
      return; // never answered; the client is killed meanwhile
    }
    const type = upstream.headers.get('content-type') ?? '';
    if (proxy.rules.rewriteJson && type.startsWith('application/json')) {
      body = Buffer.from(JSON.stringify(proxy.rules.rewriteJson(path, JSON.parse(body.toString('utf8')))));
    }
    const out: Record<string, string> = {};
    upstream.headers.forEach((v, k) => {
      if (!HOP.has(k)) out[k] = v;
    });
    log(upstream.status);
    res.writeHead(upstream.status, out);
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  proxy.url = `http://127.0.0.1:${address.port}`;
  return proxy;
}
