import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonOf } from '../helpers/api.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

describe('service endpoints', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  it('GET /healthz answers 200 JSON without a token', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await jsonOf(res)).toEqual({ status: 'ok' });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('GET /api/openapi.json is a generated OpenAPI document of the API', async () => {
    const res = await fetch(`${server.url}/api/openapi.json`);
    expect(res.status).toBe(200);
    const doc = await jsonOf(res);
    expect(String(doc.openapi)).toMatch(/^3\./);
    expect(doc.info?.title).toBeTypeOf('string');
    const paths = Object.keys(doc.paths ?? {});
    for (const p of ['/api/images', '/api/images/{image_id}', '/api/upload', '/api/search', '/api/oembed']) {
      expect(paths).toContain(p);
    }
    expect(doc.paths['/api/images'].get).toBeDefined();
    expect(doc.paths['/api/upload'].post).toBeDefined();
    expect(doc.paths['/api/images/{image_id}'].delete).toBeDefined();
    // Internal routes stay out of it.
    expect(paths).not.toContain('/healthz');
    expect(paths.some((p) => p.startsWith('/thumb'))).toBe(false);
  });
});
