import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectImageObject,
  fieldPart,
  jsonOf,
  rawMultipart,
  upload,
  uploadOk,
  type WireImage,
} from '../helpers/api.ts';
import { animatedGif, noisePng, solidJpeg, solidPng, solidWebp } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/** POST /api/upload: every way real clients send an image, and the whole image object back. */
describe('POST /api/upload', () => {
  let server: TestServer;
  let token: string;
  let png: Buffer;

  beforeAll(async () => {
    server = await startServer();
    ({ token } = await server.user());
    png = await solidPng(64, 48, '#102030');
  });
  afterAll(() => server.close());

  async function expectStored(image: WireImage, bytes: Buffer, contentType: string) {
    const raw = await fetch(image.url);
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toBe(contentType);
    expect(Buffer.from(await raw.arrayBuffer()).equals(bytes)).toBe(true);
  }

  it('answers 200 with the whole image object, which GET /api/images/:id repeats', async () => {
    const before = Date.now();
    const res = await upload(server, token, { imagedata: { data: png } });
    expect(res.status).toBe(200);
    const image = await jsonOf<WireImage>(res);
    expectImageObject(image, server);
    expect(image.type).toBe('png');
    expect(image.access_policy).toBe('anyone');
    expect(image.metadata).toEqual({ app: null, title: null, url: null, desc: '' });
    // created_at defaults to now, in UTC, to the second.
    const createdMs = Date.parse(image.created_at.replace('+0000', 'Z'));
    expect(createdMs).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(createdMs).toBeLessThanOrEqual(Date.now());

    const got = await fetch(`${server.url}/api/images/${image.image_id}?access_token=${token}`);
    expect(got.status).toBe(200);
    expect(await jsonOf(got)).toEqual(image);
    await expectStored(image, png, 'image/png');
  });

  it.each([
    ['Authorization: Bearer header', 'header'],
    ['query string', 'query'],
    ['multipart field before imagedata', 'field'],
  ] as const)('takes the token from the %s', async (_label, via) => {
    const bytes = await solidPng(10, 10, '#010203');
    const res = await upload(server, token, { imagedata: { data: bytes } }, via);
    expect(res.status).toBe(200);
    expectImageObject(await jsonOf(res), server);
  });

  it('takes the token from a multipart part that comes after imagedata', async () => {
    const bytes = await solidPng(11, 11);
    const { body, contentType } = rawMultipart([
      {
        headers: ['Content-Disposition: form-data; name="imagedata"; filename="gyazo.com"'],
        body: bytes,
      },
      fieldPart('access_token', token),
      fieldPart('title', 'token last'),
    ]);
    const res = await fetch(`${server.url}/api/upload`, {
      method: 'POST',
      body,
      headers: { 'content-type': contentType },
    });
    expect(res.status).toBe(200);
    const image = await jsonOf<WireImage>(res);
    expect(image.metadata.title).toBe('token last');
    await expectStored(image, bytes, 'image/png');
  });

  it('accepts a file part with no Content-Type, lower-case part headers and the filename gyazo.com', async () => {
    const bytes = await solidPng(12, 12);
    const { body, contentType } = rawMultipart([
      { headers: ['content-disposition: form-data; name="access_token"'], body: token },
      { headers: ['content-disposition: form-data; name="imagedata"; filename="gyazo.com"'], body: bytes },
    ]);
    const res = await fetch(`${server.url}/api/upload`, {
      method: 'POST',
      body,
      headers: { 'content-type': contentType },
    });
    expect(res.status).toBe(200);
    await expectStored(await jsonOf(res), bytes, 'image/png');
  });

  it('accepts a file part of application/octet-stream', async () => {
    const bytes = await solidPng(13, 13);
    const image = await uploadOk(server, token, bytes, {
      imagedata: { data: bytes, filename: 'upload.bin', type: 'application/octet-stream' },
    });
    await expectStored(image, bytes, 'image/png');
  });

  it('accepts imagedata with no filename at all (a plain field holding the bytes)', async () => {
    const bytes = await solidJpeg(14, 14);
    const { body, contentType } = rawMultipart([
      { headers: ['Content-Disposition: form-data; name="imagedata"'], body: bytes },
    ]);
    const res = await fetch(`${server.url}/api/upload?access_token=${token}`, {
      method: 'POST',
      body,
      headers: { 'content-type': contentType },
    });
    expect(res.status).toBe(200);
    const image = await jsonOf<WireImage>(res);
    expect(image.type).toBe('jpg');
    await expectStored(image, bytes, 'image/jpeg');
  });

  it('detects the type from the bytes, never from the filename or part Content-Type', async () => {
    const cases: Array<[Buffer, string, string, string]> = [
      [await solidPng(20, 20, '#ff00ff'), 'photo.jpg', 'image/jpeg', 'png'],
      [await solidJpeg(20, 20, '#00ff00'), 'image.png', 'image/png', 'jpg'],
      [await solidWebp(20, 20, '#0000ff'), 'x.gif', 'image/gif', 'webp'],
      [await animatedGif(20, 20), 'anim.webp', 'image/webp', 'gif'],
    ];
    const mime: Record<string, string> = {
      png: 'image/png',
      jpg: 'image/jpeg',
      gif: 'image/gif',
      webp: 'image/webp',
    };
    for (const [bytes, filename, type, expected] of cases) {
      const image = await uploadOk(server, token, bytes, { imagedata: { data: bytes, filename, type } });
      expect(image.type).toBe(expected);
      expect(image.url).toBe(`${server.url}/${image.image_id}.${expected}`);
      await expectStored(image, bytes, mime[expected] as string);
    }
  });

  it('keeps every frame of an animated GIF in the stored file', async () => {
    const gif = await animatedGif(24, 24);
    const image = await uploadOk(server, token, gif);
    expect(image.type).toBe('gif');
    const raw = Buffer.from(await (await fetch(image.url)).arrayBuffer());
    expect((await sharp(raw).metadata()).pages).toBe(2);
  });

  it('stores title, desc, app and referer_url (as metadata.url), access_policy and metadata_is_public', async () => {
    const image = await uploadOk(server, token, await solidPng(15, 15), {
      title: 'Site title',
      desc: 'A comment, with two clauses',
      app: 'Firefox',
      referer_url: 'https://example.com/page?x=1',
      access_policy: 'only_me',
      metadata_is_public: 'true',
      collection_id: 'ignored-collection',
    });
    expect(image.metadata).toEqual({
      app: 'Firefox',
      title: 'Site title',
      url: 'https://example.com/page?x=1',
      desc: 'A comment, with two clauses',
    });
    expect(image.access_policy).toBe('only_me');
  });

  it('keeps UTF-8 text fields intact', async () => {
    const image = await uploadOk(server, token, await solidPng(16, 16), {
      title: 'スクリーンショット 😀',
      desc: 'café — naïve',
    });
    expect(image.metadata.title).toBe('スクリーンショット 😀');
    expect(image.metadata.desc).toBe('café — naïve');
  });

  it('treats empty optional fields as absent', async () => {
    const before = Date.now();
    const image = await uploadOk(server, token, await solidPng(17, 17), {
      title: '',
      desc: '',
      app: '',
      referer_url: '',
      created_at: '',
      access_policy: '',
      metadata_is_public: '',
      collection_id: '',
    });
    expect(image.metadata).toEqual({ app: null, title: null, url: null, desc: '' });
    expect(image.access_policy).toBe('anyone');
    const createdMs = Date.parse(image.created_at.replace('+0000', 'Z'));
    expect(createdMs).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
  });

  it.each([
    ['integer seconds', '1400000000', '2014-05-13T16:53:20+0000'],
    ['float seconds', '1.5', '1970-01-01T00:00:01+0000'],
    ['float seconds with a fraction', '1400000000.75', '2014-05-13T16:53:20+0000'],
    ['milliseconds (above 1e11)', '1400000000123', '2014-05-13T16:53:20+0000'],
    ['zero', '0', '1970-01-01T00:00:00+0000'],
  ])('reads created_at given as %s', async (_label, value, expected) => {
    const image = await uploadOk(server, token, await solidPng(18, 18), { created_at: value });
    expect(image.created_at).toBe(expected);
  });

  it('access_policy anyone is the default and can be sent explicitly', async () => {
    const image = await uploadOk(server, token, await solidPng(19, 19), { access_policy: 'anyone' });
    expect(image.access_policy).toBe('anyone');
  });

  it('accepts an image larger than 1 MiB (the default limit is far above the framework default)', async () => {
    const big = await noisePng(700, 700, 7);
    expect(big.length).toBeGreaterThan(1024 * 1024);
    const image = await uploadOk(server, token, big);
    await expectStored(image, big, 'image/png');
  });

  it('stores identical bytes once, whoever uploads them', async () => {
    const other = await server.user();
    const bytes = await solidPng(21, 21, '#abcdef');
    const hash = createHash('sha256').update(bytes).digest('hex');
    const a = await uploadOk(server, token, bytes);
    const b = await uploadOk(server, other.token, bytes);
    expect(a.image_id).not.toBe(b.image_id);
    const files = (await server.blobFiles()).filter((f) => f.endsWith(hash));
    // One original and one thumbnail.
    expect(files).toHaveLength(2);
    expect(files.filter((f) => f.startsWith('orig/'))).toHaveLength(1);
  });

  it('takes concurrent uploads of the same bytes, storing them once', async () => {
    const other = await server.user();
    const bytes = await solidPng(22, 22, '#fedcba');
    const hash = createHash('sha256').update(bytes).digest('hex');
    const images = await Promise.all(
      Array.from({ length: 6 }, (_, i) => uploadOk(server, i % 2 ? token : other.token, bytes)),
    );
    expect(new Set(images.map((i) => i.image_id)).size).toBe(6);
    expect((await server.blobFiles()).filter((f) => f.endsWith(hash))).toHaveLength(2);
    for (const image of images) await expectStored(image, bytes, 'image/png');
  });
});
