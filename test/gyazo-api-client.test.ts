import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WireImage } from '../src/services/wire.ts';
import { solidPng } from './helpers/images.ts';
import { startServer, type TestServer } from './helpers/server.ts';

/**
 * The real npm client `gyazo-api` (0.3.1) against a real Gazo server. Its hosts are fixed in
 * its code (`https://upload.gyazo.com`, `https://api.gyazo.com`) and it calls
 * `request.post/get/del` on the `request` module it requires: those three functions are
 * wrapped here to send the same request to the test server instead. Nothing else of the
 * client changes, so its multipart encoding, status checks and JSON parsing are what run.
 */

interface GyazoResult<T> {
  response: { statusCode: number; headers: Record<string, string | string[] | undefined> };
  data: T;
}
interface GyazoClient {
  upload(
    image: string | Buffer | NodeJS.ReadableStream,
    params?: Record<string, string>,
  ): Promise<GyazoResult<WireImage>>;
  list(query?: Record<string, string | number>): Promise<GyazoResult<WireImage[]>>;
  delete(imageId: string): Promise<GyazoResult<WireImage>>;
}

const require = createRequire(import.meta.url);
const Gyazo = require('gyazo-api') as new (accessToken?: string) => GyazoClient;
// The very module object the client holds (resolved from the client's own folder).
const request = require(
  require.resolve('request', { paths: [path.dirname(require.resolve('gyazo-api'))] }),
) as Record<'post' | 'get' | 'del', (options: { url: string }, callback: unknown) => unknown>;

const HOSTS = ['https://upload.gyazo.com', 'https://api.gyazo.com'];
const VERBS = ['post', 'get', 'del'] as const;

describe('npm gyazo-api client', () => {
  let server: TestServer;
  let token: string;
  let png: Buffer;
  let pngFile: string;
  const seen: string[] = [];
  const originals = { ...request };

  beforeAll(async () => {
    server = await startServer();
    ({ token } = await server.user('gyazoapi'));
    png = await solidPng(80, 60, '#225588');
    pngFile = path.join(server.dataDir, 'capture.png');
    await fs.writeFile(pngFile, png);
    for (const verb of VERBS) {
      const original = originals[verb];
      request[verb] = (options, callback) => {
        const host = HOSTS.find((h) => options.url.startsWith(`${h}/`));
        if (!host) throw new Error(`gyazo-api called an unexpected URL: ${options.url}`);
        seen.push(`${verb} ${options.url}`);
        return original.call(
          request,
          { ...options, url: server.url + options.url.slice(host.length) },
          callback,
        );
      };
    }
  });

  afterAll(async () => {
    Object.assign(request, originals);
    await server?.close();
  });

  it('uploads a file by path, lists it and deletes it', async () => {
    const gyazo = new Gyazo(token);

    const uploaded = await gyazo.upload(pngFile, { title: 'from gyazo-api', desc: 'a note' });
    expect(uploaded.response.statusCode).toBe(200);
    const image = uploaded.data;
    expect(image.image_id).toMatch(/^[0-9a-f]{32}$/);
    expect(image.permalink_url).toBe(`${server.url}/${image.image_id}`);
    expect(image.url).toBe(`${server.url}/${image.image_id}.png`);
    expect(image.type).toBe('png');
    expect(image.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/);
    expect(image.metadata).toMatchObject({ title: 'from gyazo-api', desc: 'a note' });
    const raw = await fetch(image.url);
    expect(Buffer.from(await raw.arrayBuffer()).equals(png)).toBe(true);

    const listed = await gyazo.list({ page: 1, per_page: 10 });
    expect(listed.response.statusCode).toBe(200);
    expect(listed.response.headers['x-total-count']).toBe('1');
    expect(listed.data.map((i) => i.image_id)).toEqual([image.image_id]);
    expect(listed.data[0]).toMatchObject({ permalink_url: image.permalink_url, url: image.url });

    const deleted = await gyazo.delete(image.image_id);
    expect(deleted.response.statusCode).toBe(200);
    expect(deleted.data.image_id).toBe(image.image_id);
    expect(deleted.data.type).toBe('png');

    const after = await gyazo.list();
    expect(after.data).toEqual([]);
    expect(after.response.headers['x-total-count']).toBe('0');
    expect((await fetch(image.url)).status).toBe(404);

    // Every call went through the rewritten hosts: the client's own URLs, unchanged otherwise.
    expect(seen).toEqual([
      'post https://upload.gyazo.com/api/upload',
      'get https://api.gyazo.com/api/images',
      `del https://api.gyazo.com/api/images/${image.image_id}`,
      'get https://api.gyazo.com/api/images',
    ]);
  });

  it('uploads a Buffer and a stream (no filename, octet-stream part)', async () => {
    const gyazo = new Gyazo(token);
    const fromBuffer = await gyazo.upload(png);
    expect(fromBuffer.data.image_id).toMatch(/^[0-9a-f]{32}$/);
    const fromStream = await gyazo.upload(createReadStream(pngFile));
    expect(fromStream.data.image_id).not.toBe(fromBuffer.data.image_id);
    for (const image of [fromBuffer.data, fromStream.data]) {
      const raw = await fetch(image.url);
      expect(Buffer.from(await raw.arrayBuffer()).equals(png)).toBe(true);
    }
    const listed = await gyazo.list({ per_page: 100 });
    expect(new Set(listed.data.map((i) => i.image_id))).toEqual(
      new Set([fromBuffer.data.image_id, fromStream.data.image_id]),
    );
  });

  it('rejects with the JSON error body on a bad token, an unknown image, and not-an-image', async () => {
    const stranger = new Gyazo('not-a-token');
    const rejected = await stranger.list().then(
      () => undefined,
      (body: unknown) => body,
    );
    expect(typeof rejected).toBe('string');
    expect(JSON.parse(rejected as string)).toMatchObject({ message: expect.any(String) });

    const gyazo = new Gyazo(token);
    const missing = await gyazo.delete('0'.repeat(32)).then(
      () => undefined,
      (body: unknown) => body,
    );
    expect(JSON.parse(missing as string)).toMatchObject({ message: expect.any(String) });

    const notImage = await gyazo.upload(Buffer.from('just some text, not an image')).then(
      () => undefined,
      (body: unknown) => body,
    );
    expect(JSON.parse(notImage as string)).toMatchObject({ message: 'Not an Image' });
  });
});
