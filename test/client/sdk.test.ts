import { GazoApiError, GazoClient, type GazoImage, parseRetryAfter } from 'gazo/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solidJpeg, solidPng } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { startProxy, type TestProxy } from './proxy.ts';

/** The SDK, imported by its package name as users do, against a real server, endpoint by endpoint. */
describe('GazoClient', () => {
  let server: TestServer;
  let token: string;
  let client: GazoClient;

  beforeAll(async () => {
    server = await startServer();
    ({ token } = await server.user('sdk-alice'));
    client = new GazoClient({ apiUrl: server.url, accessToken: token });
  });
  afterAll(() => server.close());

  it('uploads with every field, then gets, lists, searches and deletes the image', async () => {
    const png = await solidPng(30, 20, '#123456');
    const uploaded = await client.upload(png, {
      title: 'SDK 日本語 title',
      desc: 'a description',
      refererUrl: 'https://example.com/page',
      app: 'vitest',
      createdAt: new Date('2014-05-21T05:23:10Z'),
      accessPolicy: 'only_me',
      metadataIsPublic: true,
    });
    expect(uploaded).toMatchObject({
      type: 'png',
      created_at: '2014-05-21T05:23:10+0000',
      access_policy: 'only_me',
      metadata: {
        title: 'SDK 日本語 title',
        desc: 'a description',
        app: 'vitest',
        url: 'https://example.com/page',
      },
    });
    expect(uploaded.image_id).toMatch(/^[0-9a-f]{32}$/);

    const got: GazoImage = await client.get(uploaded.image_id);
    expect(got).toEqual(uploaded);

    const page = await client.list({ page: 1, perPage: 10 });
    expect(page.images.map((i) => i.image_id)).toContain(uploaded.image_id);
    expect(page).toMatchObject({ totalCount: 1, currentPage: 1, perPage: 10, userType: 'ninja' });

    const found = await client.search('日本語');
    expect(found.images.map((i) => i.image_id)).toEqual([uploaded.image_id]);
    expect((await client.search('nothing-like-this')).images).toEqual([]);

    // An only_me file needs the token: download sends it to the client's own origin.
    expect(Buffer.from(await client.download(uploaded.url)).equals(png)).toBe(true);
    expect((await fetch(uploaded.url)).status).toBe(404);

    const deleted = await client.delete(uploaded.image_id);
    expect(deleted.image_id).toBe(uploaded.image_id);
    const gone = await client.get(uploaded.image_id).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(GazoApiError);
    expect(gone).toMatchObject({ status: 404, message: 'image not found', method: 'GET' });
  });

  it('reports upload progress, sending the same bytes', async () => {
    const png = await solidPng(300, 200, '#0a0b0c');
    const calls: Array<[number, number]> = [];
    const image = await client.upload(new Blob([new Uint8Array(png)]), {
      title: 'with progress',
      onProgress: (sent, total) => calls.push([sent, total]),
    });
    const total = calls[0]?.[1] as number;
    expect(total).toBeGreaterThan(png.length);
    expect(calls.at(-1)).toEqual([total, total]);
    expect(calls.every(([sent], i) => i === 0 || sent >= (calls[i - 1]?.[0] ?? 0))).toBe(true);
    expect(image.metadata.title).toBe('with progress');
    expect(Buffer.from(await client.download(image.url)).equals(png)).toBe(true);
  });

  it('pages through every image with listAll', async () => {
    const { token: bobToken } = await server.user('sdk-bob');
    const bob = new GazoClient({ apiUrl: server.url, accessToken: bobToken });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await bob.upload(await solidJpeg(8 + i, 8), { createdAt: 1_400_000_000 + i })).image_id);
    const listed: string[] = [];
    for await (const image of bob.listAll({ perPage: 2 })) listed.push(image.image_id);
    expect(listed).toEqual(ids.reverse());
  });

  it('reads users/me and oEmbed (no token needed for oEmbed)', async () => {
    expect((await client.me()).user).toMatchObject({ name: 'sdk-alice' });
    const image = await client.upload(await solidPng(40, 30));
    const anonymous = new GazoClient({ apiUrl: server.url });
    expect(await anonymous.oembed(image.permalink_url)).toMatchObject({
      type: 'photo',
      width: 40,
      height: 30,
    });
  });

  it('throws GazoApiError with the status and the server message', async () => {
    const stranger = new GazoClient({ apiUrl: server.url, accessToken: 'not-a-token' });
    const err = await stranger.me().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GazoApiError);
    expect(err).toMatchObject({ status: 401, url: `${server.url}/api/users/me` });
    expect((err as Error).message).toMatch(/not authorized/i);
    expect((err as Error).message).not.toContain('not-a-token');
    const bad = await client.upload(Buffer.from('not an image')).catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 422 });
    const nowhere = new GazoClient({ apiUrl: 'http://127.0.0.1:9', retries: 0 });
    expect(await nowhere.me().catch((e: unknown) => e)).toMatchObject({ status: 0 });
  });

  describe('through a proxy', () => {
    let proxy: TestProxy;
    beforeAll(async () => {
      proxy = await startProxy();
      proxy.target = server.url;
    });
    afterAll(() => proxy.close());

    it('waits Retry-After on 429 and gives up after its retries', async () => {
      let first = true;
      proxy.rules = {
        tooMany: (path) => {
          if (path !== '/api/users/me' || !first) return false;
          first = false;
          return true;
        },
      };
      const viaProxy = new GazoClient({ apiUrl: proxy.url, accessToken: token });
      const started = Date.now();
      expect((await viaProxy.me()).user.name).toBe('sdk-alice');
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);

      proxy.rules = { tooMany: () => true, retryAfter: '7' };
      const impatient = new GazoClient({ apiUrl: proxy.url, accessToken: token, maxRetryAfterMs: 2000 });
      const err = await impatient.me().catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 429, retryAfterMs: 7000 });
      proxy.rules = { tooMany: () => true, retryAfter: '0' };
      const twice = new GazoClient({ apiUrl: proxy.url, accessToken: token, retries: 2 });
      const before = proxy.log.length;
      expect(await twice.me().catch((e: unknown) => e)).toMatchObject({ status: 429 });
      expect(proxy.log.length - before).toBe(3);
    });

    it('sends an upload again after a 429, streamed body and all', async () => {
      let uploads = 0;
      proxy.rules = {
        tooMany: (path) => path === '/api/upload' && ++uploads === 1,
        retryAfter: '0',
      };
      const viaProxy = new GazoClient({ apiUrl: proxy.url, accessToken: token });
      const png = await solidPng(13, 13, '#131313');
      const before = proxy.log.length;
      const image = await viaProxy.upload(png, { onProgress: () => undefined });
      expect(proxy.log.slice(before).map((r) => r.status)).toEqual([429, 200]);
      expect(Buffer.from(await client.download(image.url)).equals(png)).toBe(true);
    });

    it('retries a read after a dropped connection, never a write', async () => {
      let drops = 0;
      proxy.rules = { drop: () => drops++ === 0 };
      const viaProxy = new GazoClient({ apiUrl: proxy.url, accessToken: token });
      expect((await viaProxy.list()).images.length).toBeGreaterThan(0);
      drops = 0;
      const before = await server.imageCount();
      const err = await viaProxy.upload(await solidPng(9, 9, '#999999')).catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 0, method: 'POST' });
      expect(await server.imageCount()).toBe(before);
    });

    it('sends uploads to the upload origin and everything else to the API origin', async () => {
      proxy.rules = {};
      const split = new GazoClient({ apiUrl: proxy.url, uploadUrl: server.url, accessToken: token });
      const before = proxy.log.length;
      const image = await split.upload(await solidPng(11, 11, '#abcdef'));
      expect(proxy.log.length).toBe(before);
      await split.get(image.image_id);
      expect(proxy.log.slice(before).map((r) => r.path)).toEqual([`/api/images/${image.image_id}`]);
    });

    it('sends the token with a download only to its own origins', async () => {
      proxy.rules = {};
      const seen: Array<string | null> = [];
      const spy: typeof fetch = (input, init) => {
        seen.push(new Headers(init?.headers).get('authorization'));
        return fetch(input, init);
      };
      const image = await client.upload(await solidPng(12, 12, '#fedcba'));
      const c = new GazoClient({ apiUrl: server.url, accessToken: token, fetch: spy });
      await c.download(image.url);
      await c.download(`${proxy.url}/${image.image_id}.png`);
      expect(seen).toEqual([`Bearer ${token}`, null]);
    });
  });

  it('knows gyazo.com hosts: uploads go to upload.gyazo.com', () => {
    const gyazo = new GazoClient({ apiUrl: 'https://api.gyazo.com/' });
    expect([gyazo.apiUrl, gyazo.uploadUrl]).toEqual(['https://api.gyazo.com', 'https://upload.gyazo.com']);
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
