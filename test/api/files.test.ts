import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, jsonOf, uploadOk, type WireImage } from '../helpers/api.ts';
import { animatedGif, rotatedJpeg, solidJpeg, solidPng, solidWebp } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let owner: { token: string };
beforeAll(async () => {
  server = await startServer();
  owner = await server.user();
});
afterAll(() => server.close());

const MIME: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
};

describe('raw files /:image_id.<ext>', () => {
  const cases = [
    ['png', () => solidPng(33, 22, '#123456')],
    ['jpg', () => solidJpeg(33, 22, '#654321')],
    ['gif', () => animatedGif(33, 22)],
    ['webp', () => solidWebp(33, 22, '#abcabc')],
  ] as const;

  it.each(cases)('serves the exact uploaded %s bytes with the right headers', async (type, make) => {
    const bytes = await make();
    const image = await uploadOk(server, owner.token, bytes);
    expect(image.type).toBe(type);
    const res = await fetch(image.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(MIME[type]);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const cache = res.headers.get('cache-control') ?? '';
    expect(cache).toContain('public');
    expect(Number(/max-age=(\d+)/.exec(cache)?.[1])).toBeGreaterThanOrEqual(30 * 24 * 3600);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('sends a strong ETag and answers 304 to If-None-Match', async () => {
    const bytes = await solidPng(34, 22, '#010101');
    const image = await uploadOk(server, owner.token, bytes);
    const first = await fetch(image.url);
    await first.arrayBuffer();
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[^"]+"$/);
    expect(etag?.startsWith('W/')).toBe(false);

    const again = await fetch(image.url, { headers: { 'if-none-match': etag as string } });
    expect(again.status).toBe(304);
    expect((await again.arrayBuffer()).byteLength).toBe(0);
    const listed = await fetch(image.url, { headers: { 'if-none-match': `"nope", ${etag}` } });
    expect(listed.status).toBe(304);
    await listed.arrayBuffer();

    const stale = await fetch(image.url, { headers: { 'if-none-match': '"something-else"' } });
    expect(stale.status).toBe(200);
    expect(Buffer.from(await stale.arrayBuffer()).equals(bytes)).toBe(true);

    // Different bytes, different ETag.
    const other = await uploadOk(server, owner.token, await solidPng(34, 22, '#020202'));
    const otherRes = await fetch(other.url);
    await otherRes.arrayBuffer();
    expect(otherRes.headers.get('etag')).not.toBe(etag);
  });

  it('is 404 (JSON) for an unknown id or extension', async () => {
    const unknown = `/${'e'.repeat(32)}.png`;
    await expectError(await fetch(`${server.url}${unknown}`), 404, { path: unknown });
    const image = await uploadOk(server, owner.token, await solidPng(35, 22));
    const exe = `/${image.image_id}.exe`;
    await expectError(await fetch(`${server.url}${exe}`), 404, { path: exe });
    const html = `/${image.image_id}.html`;
    await expectError(await fetch(`${server.url}${html}`), 404, { path: html });
  });

  it('never answers an image as HTML, whatever extension is asked for', async () => {
    const image = await uploadOk(server, owner.token, await solidPng(36, 22));
    for (const ext of ['jpg', 'gif', 'webp']) {
      const res = await fetch(`${server.url}/${image.image_id}.${ext}`);
      await res.arrayBuffer();
      if (res.status === 200) expect(res.headers.get('content-type')).toBe('image/png');
      else expect(res.status).toBe(404);
    }
  });
});

describe('thumbnails (thumb_url)', () => {
  async function thumbOf(image: WireImage) {
    const res = await fetch(image.thumb_url);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const bytes = Buffer.from(await res.arrayBuffer());
    return { res, bytes, meta: await sharp(bytes).metadata() };
  }

  it.each([
    ['png', () => solidPng(1200, 800, '#336699'), 'png'],
    ['jpg', () => solidJpeg(800, 1200, '#996633'), 'jpeg'],
    ['webp', () => solidWebp(1000, 1000, '#669933'), 'webp'],
    ['gif', () => animatedGif(600, 300), 'gif'],
  ] as const)('a %s gets a thumbnail of its own type that fits in 500×500', async (type, make, format) => {
    const image = await uploadOk(server, owner.token, await make());
    const { res, meta } = await thumbOf(image);
    expect(res.headers.get('content-type')).toBe(MIME[type]);
    expect(meta.format).toBe(format);
    expect(Math.max(meta.width ?? 0, meta.height ?? 0)).toBe(500);
    expect(meta.width ?? 0).toBeLessThanOrEqual(500);
    expect(meta.height ?? 0).toBeLessThanOrEqual(500);
  });

  it('keeps the aspect ratio and never enlarges a small image', async () => {
    const big = await uploadOk(server, owner.token, await solidPng(1000, 400, '#445566'));
    const { meta } = await thumbOf(big);
    expect([meta.width, meta.height]).toEqual([500, 200]);
    const small = await uploadOk(server, owner.token, await solidPng(40, 30, '#556677'));
    const { meta: smallMeta } = await thumbOf(small);
    expect([smallMeta.width, smallMeta.height]).toEqual([40, 30]);
  });

  it('applies EXIF orientation and strips metadata', async () => {
    const bytes = await rotatedJpeg();
    expect((await sharp(bytes).metadata()).orientation).toBe(6);
    const image = await uploadOk(server, owner.token, bytes);
    // The original keeps its pixels and its orientation (its other metadata is removed).
    const raw = Buffer.from(await (await fetch(image.url)).arrayBuffer());
    expect((await sharp(raw).metadata()).orientation).toBe(6);
    expect((await sharp(raw).raw().toBuffer()).equals(await sharp(bytes).raw().toBuffer())).toBe(true);
    const { meta } = await thumbOf(image);
    expect(meta.format).toBe('jpeg');
    // Stored 60×40 with "rotate 90°": shown portrait.
    expect([meta.width, meta.height]).toEqual([40, 60]);
    expect(meta.orientation ?? 1).toBe(1);
    expect(meta.exif).toBeUndefined();
    expect(meta.icc).toBeUndefined();
    // oEmbed reports the displayed size too.
    const oembed = await jsonOf(
      await fetch(`${server.url}/api/oembed?url=${encodeURIComponent(image.permalink_url)}`),
    );
    expect([oembed.width, oembed.height]).toEqual([40, 60]);
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const image = await uploadOk(server, owner.token, await solidPng(50, 50, '#778899'));
    const { res } = await thumbOf(image);
    const etag = res.headers.get('etag') as string;
    expect(etag).toMatch(/^"[^"]+"$/);
    const again = await fetch(image.thumb_url, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    await again.arrayBuffer();
  });

  it('is 404 for a size that is not offered, or an unknown image', async () => {
    const image = await uploadOk(server, owner.token, await solidPng(51, 50, '#8899aa'));
    const other = `/thumb/180/${image.image_id}.png`;
    await expectError(await fetch(`${server.url}${other}`), 404, { path: other });
    const unknown = `/thumb/500/${'f'.repeat(32)}.png`;
    await expectError(await fetch(`${server.url}${unknown}`), 404, { path: unknown });
  });
});

describe('access_policy=only_me', () => {
  let image: WireImage;
  let bytes: Buffer;
  let stranger: { token: string };

  beforeAll(async () => {
    bytes = await solidPng(70, 50, '#c0ffee');
    image = await uploadOk(server, owner.token, bytes, {
      access_policy: 'only_me',
      title: 'private title',
      metadata_is_public: 'true',
    });
    stranger = await server.user();
  });

  const targets = () => ({
    raw: image.url,
    rawAlias: `${image.permalink_url}/raw`,
    thumb: image.thumb_url,
    page: image.permalink_url,
    api: `${server.url}/api/images/${image.image_id}`,
  });

  it('is 404 to anyone without a token, including oEmbed', async () => {
    for (const [name, url] of Object.entries(targets())) {
      const res = await fetch(url);
      const body = Buffer.from(await res.arrayBuffer());
      if (name === 'api') expect(res.status, name).toBe(401);
      else expect(res.status, name).toBe(404);
      expect(body.includes(bytes), name).toBe(false);
      expect(body.toString('latin1'), name).not.toContain('private title');
    }
    await expectError(
      await fetch(`${server.url}/api/oembed?url=${encodeURIComponent(image.permalink_url)}`),
      404,
      { path: '/api/oembed', message: 'image not found' },
    );
  });

  it('is 404 to another user, token in the query or the header', async () => {
    for (const [name, url] of Object.entries(targets())) {
      const attempts: Array<{ url: string; headers: Record<string, string> }> = [
        { url: `${url}?access_token=${stranger.token}`, headers: {} },
        { url, headers: { authorization: `Bearer ${stranger.token}` } },
      ];
      for (const init of attempts) {
        const res = await fetch(init.url, { headers: init.headers });
        const body = Buffer.from(await res.arrayBuffer());
        expect(res.status, name).toBe(404);
        expect(body.includes(bytes), name).toBe(false);
        expect(body.toString('latin1'), name).not.toContain('private title');
      }
    }
  });

  it('is served to its owner, token in the query or the header, never cached publicly', async () => {
    for (const auth of [
      (u: string) => ({ url: `${u}?access_token=${owner.token}`, headers: {} }),
      (u: string) => ({ url: u, headers: { authorization: `Bearer ${owner.token}` } }),
    ]) {
      const t = targets();
      const raw = auth(t.raw);
      const rawRes = await fetch(raw.url, { headers: raw.headers });
      expect(rawRes.status).toBe(200);
      expect(rawRes.headers.get('cache-control')).toMatch(/private|no-store/);
      expect(rawRes.headers.get('cache-control')).not.toMatch(/public/);
      expect(Buffer.from(await rawRes.arrayBuffer()).equals(bytes)).toBe(true);

      const alias = auth(t.rawAlias);
      const aliasRes = await fetch(alias.url, { headers: alias.headers });
      expect(aliasRes.status).toBe(200);
      expect(Buffer.from(await aliasRes.arrayBuffer()).equals(bytes)).toBe(true);

      const thumb = auth(t.thumb);
      const thumbRes = await fetch(thumb.url, { headers: thumb.headers });
      expect(thumbRes.status).toBe(200);
      expect(thumbRes.headers.get('cache-control')).not.toMatch(/public/);
      expect((await sharp(Buffer.from(await thumbRes.arrayBuffer())).metadata()).format).toBe('png');

      const pageReq = auth(t.page);
      const pageRes = await fetch(pageReq.url, { headers: pageReq.headers });
      expect(pageRes.status).toBe(200);
      expect(pageRes.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await pageRes.text()).toContain('private title');

      const api = auth(t.api);
      const apiRes = await fetch(api.url, { headers: api.headers });
      expect(apiRes.status).toBe(200);
      expect((await jsonOf<WireImage>(apiRes)).access_policy).toBe('only_me');
    }
  });
});
