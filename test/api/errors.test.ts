import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectError,
  fieldPart,
  rawMultipart,
  rawRequest,
  settleJobs,
  storedState,
  upload,
  uploadOk,
  type WireImage,
} from '../helpers/api.ts';
import { noisePng, pixelBombPng, solidJpeg, solidPng, truncated } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/**
 * Every bad input: the documented status, a Gyazo-shaped JSON error, and nothing stored — the
 * image count and the blob folder are exactly as they were before the request.
 */
describe('refused requests', () => {
  let server: TestServer;
  let token: string;
  let png: Buffer;
  let existing: WireImage;

  beforeAll(async () => {
    server = await startServer();
    ({ token } = await server.user());
    png = await solidPng(30, 30, '#0f0f0f');
    existing = await uploadOk(server, token, await solidPng(31, 31, '#f0f0f0'));
  });
  afterAll(() => server.close());

  /** Runs `request`, checks the error, then checks that nothing was stored or removed. */
  async function refused(
    request: () => Promise<Response>,
    status: number,
    expected: { path?: string; method?: string; message?: string | RegExp } = {},
  ) {
    const before = await storedState(server);
    const res = await request();
    const body = await expectError(res, status, {
      path: expected.path ?? '/api/upload',
      method: expected.method ?? 'POST',
      message: expected.message,
    });
    await settleJobs(server);
    expect(await storedState(server)).toEqual(before);
    return body;
  }

  describe('POST /api/upload', () => {
    it('401 without a token, even with a valid image', async () => {
      await refused(() => upload(server, undefined, { imagedata: { data: png } }), 401);
    });

    it.each(['query', 'header', 'field'] as const)('401 with a bad token in the %s', async (via) => {
      const body = await refused(
        () => upload(server, 'bad-token-value-123', { imagedata: { data: png } }, via),
        401,
      );
      expect(JSON.stringify(body)).not.toContain('bad-token-value-123');
    });

    it('401 with a revoked token', async () => {
      const user = await server.user();
      await server.rt.accounts.revokeToken(user.token);
      await refused(() => upload(server, user.token, { imagedata: { data: png } }), 401);
    });

    it('422 "Not an Image" for bytes that are not an image', async () => {
      await refused(
        () => upload(server, token, { imagedata: { data: Buffer.from('hello, I am plain text') } }),
        422,
        { message: 'Not an Image' },
      );
      await refused(
        () => upload(server, token, { imagedata: { data: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]) } }),
        422,
        { message: 'Not an Image' },
      );
    });

    it('422 for SVG and HTML dressed up as PNG', async () => {
      const svg = Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>',
      );
      const htmlDoc = Buffer.from('<!doctype html><html><body><script>alert(1)</script></body></html>');
      for (const [data, message] of [
        [svg, 'SVG is not supported; send PNG, JPEG, GIF or WebP'],
        [htmlDoc, 'Not an Image'],
      ] as const) {
        await refused(
          () => upload(server, token, { imagedata: { data, filename: 'cat.png', type: 'image/png' } }),
          422,
          { message },
        );
      }
    });

    it('422 naming the type for images Gazo does not take (AVIF, TIFF), stored nowhere', async () => {
      const image = sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } });
      for (const [data, name] of [
        [await image.clone().avif().toBuffer(), 'AVIF'],
        [await image.clone().tiff().toBuffer(), 'TIFF'],
      ] as const) {
        await refused(() => upload(server, token, { imagedata: { data } }), 422, {
          message: `${name} is not supported; send PNG, JPEG, GIF or WebP`,
        });
      }
    });

    it('422 for a truncated PNG and a truncated JPEG', async () => {
      const bigPng = await noisePng(120, 120, 3);
      const jpeg = await solidJpeg(300, 300, '#345678');
      for (const data of [truncated(bigPng), truncated(jpeg), truncated(bigPng, 0.1)]) {
        await refused(() => upload(server, token, { imagedata: { data } }), 422);
      }
    });

    it('422 for a pixel bomb, refused from its header', async () => {
      const bomb = await pixelBombPng();
      const started = Date.now();
      await refused(() => upload(server, token, { imagedata: { data: bomb } }), 422);
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it('400 without imagedata, or with an empty one', async () => {
      await refused(() => upload(server, token, { title: 'no image' }), 400);
      await refused(() => upload(server, token, { imagedata: { data: Buffer.alloc(0) } }), 400);
      await refused(() => upload(server, token, { imagedata: '' }), 400);
    });

    it.each([
      ['JSON', 'application/json', (): string | Buffer => JSON.stringify({ imagedata: 'x' })],
      ['url-encoded', 'application/x-www-form-urlencoded', (): string | Buffer => 'imagedata=abc'],
      ['raw image/png', 'image/png', (): string | Buffer => png],
      ['text/plain', 'text/plain', (): string | Buffer => 'hello'],
      ['no Content-Type', undefined, (): string | Buffer => png],
    ] as const)('400 for a non-multipart body (%s)', async (_label, type, body) => {
      await refused(
        () =>
          fetch(`${server.url}/api/upload?access_token=${token}`, {
            method: 'POST',
            body: new Uint8Array(Buffer.from(body())),
            headers: type ? { 'content-type': type } : {},
          }),
        400,
      );
    });

    it('400 for a malformed multipart body', async () => {
      const bodies: Array<[string, string | Buffer]> = [
        ['multipart/form-data', 'no boundary'],
        ['multipart/form-data; boundary=abc', 'not multipart at all'],
        [
          'multipart/form-data; boundary=abc',
          Buffer.concat([
            Buffer.from('--abc\r\ncontent-disposition: form-data; name="imagedata"; filename="x"\r\n\r\n'),
            png,
          ]),
        ],
      ];
      for (const [type, body] of bodies) {
        await refused(
          () =>
            fetch(`${server.url}/api/upload?access_token=${token}`, {
              method: 'POST',
              body: typeof body === 'string' ? body : new Uint8Array(body),
              headers: { 'content-type': type },
            }),
          400,
        );
      }
    });

    it.each(['abc', '-1', 'Infinity', 'NaN', '1e400', '1e3', '0x10', '12abc', '2024-01-01'])(
      '400 for created_at=%s',
      async (value) => {
        await refused(() => upload(server, token, { imagedata: { data: png }, created_at: value }), 400);
      },
    );

    it.each(['public', 'ONLY_ME', 'nobody', 'true'])('400 for access_policy=%s', async (value) => {
      await refused(() => upload(server, token, { imagedata: { data: png }, access_policy: value }), 400);
    });

    it.each(['yes', '1', 'TRUE', 'on'])('400 for metadata_is_public=%s', async (value) => {
      await refused(
        () => upload(server, token, { imagedata: { data: png }, metadata_is_public: value }),
        400,
      );
    });

    it('400 for absurdly long text fields', async () => {
      for (const field of ['title', 'desc', 'app', 'referer_url']) {
        await refused(
          () => upload(server, token, { imagedata: { data: png }, [field]: 'x'.repeat(10_001) }),
          400,
        );
      }
    });

    it('422 for text sent as imagedata in a plain field', async () => {
      await refused(() => upload(server, token, { imagedata: 'not an image, just text' }), 422, {
        message: 'Not an Image',
      });
    });

    it('checks the token before anything else: no token and no image is 401', async () => {
      await refused(() => upload(server, undefined, { title: 'x' }), 401);
    });
  });

  describe('other endpoints', () => {
    it('another user cannot get or delete an image, which stays', async () => {
      const other = await server.user();
      const path = `/api/images/${existing.image_id}`;
      await refused(() => fetch(`${server.url}${path}?access_token=${other.token}`), 404, {
        path,
        method: 'GET',
        message: 'image not found',
      });
      await refused(
        () => fetch(`${server.url}${path}?access_token=${other.token}`, { method: 'DELETE' }),
        404,
        { path, method: 'DELETE', message: 'image not found' },
      );
      expect((await fetch(`${server.url}${path}?access_token=${token}`)).status).toBe(200);
    });

    it.each([
      ['GET', '/api/images'],
      ['GET', '/api/search?query=x'],
      ['GET', '/api/users/me'],
      ['DELETE', `/api/images/${'1'.repeat(32)}`],
    ])('401 without a token: %s %s', async (method, url) => {
      await refused(() => fetch(`${server.url}${url}`, { method }), 401, {
        path: url.split('?')[0],
        method,
      });
    });

    it('400 for bad page and per_page, never echoing the token', async () => {
      for (const q of ['page=0', 'page=x', 'per_page=0', 'per_page=101', 'per_page=ten']) {
        const body = await refused(() => fetch(`${server.url}/api/images?${q}&access_token=${token}`), 400, {
          path: '/api/images',
          method: 'GET',
        });
        expect(JSON.stringify(body)).not.toContain(token);
      }
    });

    it('answers unknown routes and methods with a JSON 404', async () => {
      await refused(() => fetch(`${server.url}/api/nope?access_token=${token}`), 404, {
        path: '/api/nope',
        method: 'GET',
      });
      await refused(() => fetch(`${server.url}/api/images`, { method: 'PUT' }), 404, {
        path: '/api/images',
        method: 'PUT',
      });
      await refused(() => fetch(`${server.url}/no/such/page`), 404, { path: '/no/such/page', method: 'GET' });
    });
  });

  describe('path traversal', () => {
    const secrets = ['root:', 'SQLite format 3', 'gazo.sqlite-wal'];

    const probes = [
      '/api/images/../../etc/passwd',
      '/api/images/..%2F..%2Fetc%2Fpasswd',
      '/api/images/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/api/images/..%2F..%2Fgazo.sqlite',
      '/api/images/..%2Fgazo.sqlite',
      '/api/images/%2e%2e%2f%2e%2e%2fgazo.sqlite',
      '/../../etc/passwd',
      '/..%2F..%2Fetc%2Fpasswd',
      '/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/..%2F..%2Fgazo.sqlite',
      '/..%2Fgazo.sqlite',
      '/%2e%2e%2fgazo.sqlite',
      '/%2e%2e/%2e%2e/gazo.sqlite',
      '/..%5C..%5Cgazo.sqlite',
      '/gazo.sqlite',
      '/blobs',
      '/blobs/orig',
      '/..%2Fgazo.sqlite%00.png',
      '/thumb/500/../../gazo.sqlite',
      '/thumb/500/..%2F..%2Fgazo.sqlite',
      '/thumb/500/%2e%2e%2f%2e%2e%2fgazo.sqlite',
      '/thumb/500/..%2F..%2F..%2Fetc%2Fpasswd',
      '/thumb/..%2F..%2F/gazo.sqlite',
      '/thumb/%2e%2e/%2e%2e/gazo.sqlite',
    ];

    it.each(probes)('GET %s is a 4xx and never file contents', async (path) => {
      const before = await storedState(server);
      const res = await rawRequest(server, `${path}${path.includes('?') ? '&' : '?'}access_token=${token}`);
      expect(res.status, `${path}: ${res.body.toString('latin1').slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      const text = res.body.toString('latin1');
      for (const s of secrets) expect(text).not.toContain(s);
      expect(res.headers['content-type'] ?? '').not.toMatch(/^image\//);
      if (String(res.headers['content-type']).startsWith('application/json')) {
        const body = JSON.parse(text);
        expect(Object.keys(body).sort()).toEqual(['message', 'method', 'request']);
        expect(body.request).not.toContain('access_token');
        expect(body.request).not.toContain(token);
      }
      expect(await storedState(server)).toEqual(before);
    });

    it.each(probes.filter((p) => p.startsWith('/api/images/')))(
      'DELETE %s is a 4xx and deletes nothing',
      async (path) => {
        const before = await storedState(server);
        const res = await rawRequest(server, path, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${token}` },
        });
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        await settleJobs(server);
        expect(await storedState(server)).toEqual(before);
      },
    );

    it('the blob path of a real image is not servable either', async () => {
      const files = await server.blobFiles();
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        const stored = await fs.readFile(path.join(server.dataDir, 'blobs', file));
        for (const url of [
          `/${file}`,
          `/blobs/${file}`,
          `/${encodeURIComponent(file)}`,
          `/thumb/500/${encodeURIComponent(`../../${file}`)}`,
        ]) {
          const res = await rawRequest(server, url);
          expect(res.status, url).toBeGreaterThanOrEqual(400);
          expect(res.status, url).toBeLessThan(500);
          expect(res.body.includes(stored), url).toBe(false);
        }
      }
    });
  });
});

describe('oversized uploads (maxUploadBytes 10,000)', () => {
  let server: TestServer;
  let token: string;
  let name: string;
  let big: Buffer;

  beforeAll(async () => {
    server = await startServer({ maxUploadBytes: 10_000 });
    ({ token, name } = await server.user());
    big = await noisePng(100, 100, 5);
    expect(big.length).toBeGreaterThan(20_000);
  });
  afterAll(() => server.close());

  it('takes an image under the limit', async () => {
    const small = await solidPng(20, 20);
    expect(small.length).toBeLessThan(10_000);
    await uploadOk(server, token, small);
  });

  it('413 for a file part over the limit, storing nothing', async () => {
    const before = await storedState(server);
    await expectError(await upload(server, token, { imagedata: { data: big } }), 413, {
      path: '/api/upload',
      method: 'POST',
    });
    await settleJobs(server);
    expect(await storedState(server)).toEqual(before);
  });

  it('413 for imagedata over the limit sent as a plain field', async () => {
    const before = await storedState(server);
    const { body, contentType } = rawMultipart([
      fieldPart('access_token', token),
      { headers: ['Content-Disposition: form-data; name="imagedata"'], body: big },
    ]);
    const res = await fetch(`${server.url}/api/upload`, {
      method: 'POST',
      body: new Uint8Array(body),
      headers: { 'content-type': contentType },
    });
    await expectError(res, 413, { path: '/api/upload', method: 'POST' });
    await settleJobs(server);
    expect(await storedState(server)).toEqual(before);
  });

  it('413 on the legacy upload.cgi too, as plain text', async () => {
    const { deviceId } = await server.rt.accounts.createDevice(name);
    const before = await storedState(server);
    const { body, contentType } = rawMultipart([
      fieldPart('id', deviceId),
      {
        headers: ['Content-Disposition: form-data; name="imagedata"; filename="gyazo.com"'],
        body: big,
      },
    ]);
    const res = await fetch(`${server.url}/upload.cgi`, {
      method: 'POST',
      body: new Uint8Array(body),
      headers: { 'content-type': contentType },
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    await res.arrayBuffer();
    expect(await storedState(server)).toEqual(before);
  });
});
