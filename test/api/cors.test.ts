import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialedPreflight, registerApiCors } from '../../src/http/api/cors.ts';
import { createFastify } from '../../src/http/types.ts';
import { type RawResponse, rawRequest, uploadOk, type WireImage } from '../helpers/api.ts';
import { solidPng } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

const ORIGIN = 'https://app.example.net';
const EXPOSED = ['X-Total-Count', 'X-Total-Count-Exact', 'X-Current-Page', 'X-Per-Page', 'X-User-Type'];
/** Routes that answer browsers with their cookies, under their own policy (none yet but easy_auth). */
const CREDENTIALED = new Set(['POST /api/upload/easy_auth']);

const list = (header: string | string[] | undefined) =>
  String(header ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);

function expectTokenCors(res: RawResponse, what: string) {
  expect(res.headers['access-control-allow-origin'], what).toBe('*');
  expect(res.headers['access-control-allow-credentials'], what).toBeUndefined();
}

function expectCredentialedCors(res: RawResponse, what: string) {
  expect(res.headers['access-control-allow-origin'], what).toBe(ORIGIN);
  expect(res.headers['access-control-allow-credentials'], what).toBe('true');
  expect(list(res.headers.vary), what).toContain('origin');
}

describe('CORS on /api/* for token-authenticated browser apps', () => {
  let server: TestServer;
  let token: string;
  let image: WireImage;

  const preflight = (path: string, method: string, headers = 'authorization, content-type') =>
    rawRequest(server, path, {
      method: 'OPTIONS',
      headers: {
        origin: ORIGIN,
        'access-control-request-method': method,
        'access-control-request-headers': headers,
      },
    });

  beforeAll(async () => {
    server = await startServer();
    ({ token } = await server.user());
    image = await uploadOk(server, token, await solidPng(4, 4, '#123456'));
  });
  afterAll(() => server.close());

  it('answers a preflight before authentication: any origin, the methods and headers used, no credentials', async () => {
    const res = await preflight(`/api/images/${image.image_id}`, 'PATCH');
    expect(res.status).toBe(204);
    expectTokenCors(res, 'preflight');
    expect(list(res.headers['access-control-allow-methods'])).toEqual(
      expect.arrayContaining(['get', 'post', 'patch', 'delete']),
    );
    expect(list(res.headers['access-control-allow-headers'])).toEqual(
      expect.arrayContaining(['authorization', 'content-type']),
    );
    expect(Number(res.headers['access-control-max-age'])).toBeGreaterThan(0);
  });

  it('lets a page read a list answer and its paging headers, cross-origin, with a bearer token', async () => {
    const res = await rawRequest(server, '/api/images', {
      headers: { origin: ORIGIN, authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expectTokenCors(res, 'GET /api/images');
    expect(list(res.headers['access-control-expose-headers'])).toEqual(
      expect.arrayContaining(EXPOSED.map((h) => h.toLowerCase())),
    );
    expect(JSON.parse(res.body.toString())[0].image_id).toBe(image.image_id);
  });

  it('puts the headers on error answers too, so that a page can read why', async () => {
    const res = await rawRequest(server, `/api/images/${image.image_id}`, { headers: { origin: ORIGIN } });
    expect(res.status).toBe(401);
    expectTokenCors(res, '401');
    const patched = await fetch(`${server.url}/api/images/${image.image_id}`, {
      method: 'PATCH',
      headers: { origin: ORIGIN, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ alt_text: 'cross-origin edit' }),
    });
    expect(patched.status).toBe(200);
    expect(patched.headers.get('access-control-allow-origin')).toBe('*');
    expect(patched.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('never sends Access-Control-Allow-Credentials from any API route (but the credentialed ones)', async () => {
    const spec = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes = Object.entries(spec.paths)
      .filter(([p]) => p.startsWith('/api/'))
      .flatMap(([p, methods]) => Object.keys(methods).map((m) => ({ method: m.toUpperCase(), path: p })));
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining(['GET /api/images', 'PATCH /api/images/{image_id}', 'POST /api/upload']),
    );
    for (const route of routes) {
      const url = route.path.replace('{image_id}', image.image_id);
      const name = `${route.method} ${route.path}`;
      const pre = await preflight(url, route.method);
      const real = await rawRequest(server, `${url}?access_token=${token}&url=x&query=x`, {
        method: route.method,
        headers: { origin: ORIGIN, cookie: 'gazo_session=whatever' },
      });
      if (CREDENTIALED.has(name)) {
        expectCredentialedCors(pre, `preflight of ${name}`);
        expectCredentialedCors(real, name);
      } else {
        expect(pre.status, name).toBe(204);
        expectTokenCors(pre, `preflight of ${name}`);
        expectTokenCors(real, name);
      }
    }
  });

  it('leaves the other route groups alone: pages and files answer no CORS', async () => {
    const image = await uploadOk(server, token, await solidPng(4, 4, '#654321'));
    const page = await rawRequest(server, `/${image.image_id}`, { headers: { origin: ORIGIN } });
    expect(page.status).toBe(200);
    expect(page.headers['access-control-allow-origin']).toBeUndefined();
    const file = await rawRequest(server, new URL(image.url).pathname, { headers: { origin: ORIGIN } });
    expect(file.status).toBe(200);
    expect(file.headers['access-control-allow-origin']).toBeUndefined();
    const pre = await preflight(`/${image.image_id}`, 'GET');
    expect(pre.status).toBe(404);
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('a route with its own CORS policy (credentials, the origin echoed)', () => {
  const app = createFastify({});
  beforeAll(async () => {
    await app.register(async (api) => {
      registerApiCors(api);
      api.post('/api/upload/easy_auth', { config: { cors: 'credentialed' } }, async () => ({ ok: 1 }));
      credentialedPreflight(api, '/api/upload/easy_auth');
      api.get('/api/images', async () => []);
      api.get('/api/quiet', { config: { cors: false } }, async () => ({}));
    });
    await app.ready();
  });
  afterAll(() => app.close());

  const request = (method: 'OPTIONS' | 'POST' | 'GET', url: string) =>
    app.inject({
      method,
      url,
      headers: {
        origin: ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
  const raw = (res: Awaited<ReturnType<typeof request>>): RawResponse => ({
    status: res.statusCode,
    headers: res.headers as RawResponse['headers'],
    body: res.rawPayload,
  });

  it('answers the route and its preflight with the caller origin and credentials', async () => {
    const pre = await request('OPTIONS', '/api/upload/easy_auth');
    expect(pre.statusCode).toBe(204);
    expectCredentialedCors(raw(pre), 'preflight');
    expect(list(pre.headers['access-control-allow-methods'])).toContain('post');
    expectCredentialedCors(raw(await request('POST', '/api/upload/easy_auth')), 'POST');
  });

  it('keeps the token policy for every other route, and none for a route that turns CORS off', async () => {
    expectTokenCors(raw(await request('OPTIONS', '/api/images')), 'preflight');
    expectTokenCors(raw(await request('GET', '/api/images')), 'GET');
    const quiet = await request('GET', '/api/quiet');
    expect(quiet.headers['access-control-allow-origin']).toBeUndefined();
  });
});
