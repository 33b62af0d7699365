import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, jsonOf, uploadOk, type WireImage } from '../helpers/api.ts';
import { solidJpeg, solidPng } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

const unescapeHtml = (s: string) =>
  s
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');

/** The attributes of the first tag matching `selector` (a regex over the tag), unescaped. */
function tagAttrs(page: string, selector: RegExp): Record<string, string> | undefined {
  const tag = page.match(/<(link|meta)\b[^>]*>/g)?.find((t) => selector.test(t));
  if (!tag) return undefined;
  return Object.fromEntries(
    [...tag.matchAll(/([a-z:-]+)="([^"]*)"/g)].map((m) => [m[1], unescapeHtml(m[2] ?? '')]),
  );
}

async function page(url: string) {
  const res = await fetch(url);
  return { res, text: await res.text() };
}

describe('permalink pages and oEmbed', () => {
  let server: TestServer;
  let token: string;
  let png: Buffer;
  let pub: WireImage;
  let privateMeta: WireImage;

  beforeAll(async () => {
    server = await startServer();
    ({ token } = await server.user());
    png = await solidPng(120, 80, '#224466');
    pub = await uploadOk(server, token, png, {
      title: 'Public Title Here',
      desc: 'Public description text',
      referer_url: 'https://source.example/page',
      metadata_is_public: 'true',
    });
    privateMeta = await uploadOk(server, token, await solidJpeg(30, 20), {
      title: 'Hidden Title Here',
      desc: 'Hidden description text',
      referer_url: 'https://hidden.example/page',
    });
  });
  afterAll(() => server.close());

  describe('GET /:image_id', () => {
    it('is an HTML page that shows the image and public title and description', async () => {
      const { res, text } = await page(pub.permalink_url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(text).toContain(`src="${pub.url}"`);
      expect(text).toContain('Public Title Here');
      expect(text).toContain('Public description text');
      expect(text).toContain('https://source.example/page');
    });

    it('hides title, description and source URL unless metadata_is_public=true', async () => {
      const { res, text } = await page(privateMeta.permalink_url);
      expect(res.status).toBe(200);
      expect(text).toContain(`src="${privateMeta.url}"`);
      expect(text).not.toContain('Hidden Title Here');
      expect(text).not.toContain('Hidden description text');
      expect(text).not.toContain('hidden.example');
    });

    it('carries the oEmbed discovery link, which works', async () => {
      const { text } = await page(pub.permalink_url);
      const link = tagAttrs(text, /rel="alternate"/);
      expect(link?.type).toBe('application/json+oembed');
      expect(link?.href).toBe(`${server.url}/api/oembed?url=${encodeURIComponent(pub.permalink_url)}`);
      const res = await fetch(link?.href as string);
      expect(res.status).toBe(200);
      const body = await jsonOf(res);
      expect(body).toMatchObject({ version: '1.0', type: 'photo', url: pub.url, width: 120, height: 80 });
    });

    it('carries OpenGraph and Twitter card tags', async () => {
      const { text } = await page(pub.permalink_url);
      expect(tagAttrs(text, /property="og:image"/)?.content).toBe(pub.url);
      expect(tagAttrs(text, /property="og:title"/)?.content).toBe('Public Title Here');
      expect(tagAttrs(text, /property="og:url"/)?.content).toBe(pub.permalink_url);
      expect(tagAttrs(text, /name="twitter:card"/)?.content).toMatch(/^summary/);
      expect(tagAttrs(text, /name="twitter:image"/)?.content).toBe(pub.url);
      // A hidden title is not leaked through the tags either.
      const hidden = (await page(privateMeta.permalink_url)).text;
      expect(tagAttrs(hidden, /property="og:image"/)?.content).toBe(privateMeta.url);
      expect(hidden).not.toContain('Hidden Title Here');
    });

    it('escapes HTML in title and description; <script> never appears', async () => {
      const evil = '<script>alert("t")</script>"><img src=x onerror=alert(1)>';
      const image = await uploadOk(server, token, await solidPng(9, 9, '#999999'), {
        title: evil,
        desc: `</p><script>alert('d')</script>`,
        app: '<script>alert("app")</script>',
        referer_url: 'javascript:alert(1)',
        metadata_is_public: 'true',
      });
      const { res, text } = await page(image.permalink_url);
      expect(res.status).toBe(200);
      expect(text).not.toMatch(/<script/i);
      expect(text).not.toMatch(/<img src=x/i);
      expect(text).not.toMatch(/href="javascript:/i);
      expect(text).toContain('&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;');
      // The escaped title round-trips through the attribute that carries it.
      expect(tagAttrs(text, /property="og:title"/)?.content).toBe(evil);
      // The API answers the title as it was sent: escaping is the page's business.
      const api = await jsonOf<WireImage>(
        await fetch(`${server.url}/api/images/${image.image_id}?access_token=${token}`),
      );
      expect(api.metadata.title).toBe(evil);
    });

    it('is 404 for an unknown image', async () => {
      const res = await fetch(`${server.url}/${'a'.repeat(32)}`);
      expect(res.status).toBe(404);
      await res.arrayBuffer();
    });
  });

  describe('GET /:image_id/raw', () => {
    it('serves (or redirects to) the raw image', async () => {
      const res = await fetch(`${pub.permalink_url}/raw`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await res.arrayBuffer()).equals(png)).toBe(true);
    });

    it('is 404 for an unknown image', async () => {
      const path = `/${'b'.repeat(32)}/raw`;
      await expectError(await fetch(`${server.url}${path}`), 404, { path });
    });
  });

  describe('GET /api/oembed', () => {
    const oembed = (url: string) => fetch(`${server.url}/api/oembed?url=${encodeURIComponent(url)}`);

    it('answers oEmbed JSON for a permalink, without a token', async () => {
      const res = await oembed(pub.permalink_url);
      expect(res.status).toBe(200);
      const body = await jsonOf(res);
      expect(body).toMatchObject({
        version: '1.0',
        type: 'photo',
        url: pub.url,
        width: 120,
        height: 80,
        title: 'Public Title Here',
      });
      expect(typeof body.provider_name).toBe('string');
      expect(typeof body.provider_url).toBe('string');
      // The raw image URL it gives works.
      expect((await fetch(body.url)).status).toBe(200);
    });

    it('accepts the raw file URL too, and a permalink with a query string', async () => {
      expect((await jsonOf(await oembed(pub.url))).url).toBe(pub.url);
      expect((await jsonOf(await oembed(`${pub.permalink_url}?foo=1`))).url).toBe(pub.url);
    });

    it('leaves out a title that is not public', async () => {
      const body = await jsonOf(await oembed(privateMeta.permalink_url));
      expect(body.url).toBe(privateMeta.url);
      expect(body).not.toHaveProperty('title');
      expect(JSON.stringify(body)).not.toContain('Hidden');
    });

    it.each([
      ['an unknown image id', () => `${server.url}/${'c'.repeat(32)}`],
      ['another host', () => `http://evil.example/${pub.image_id}`],
      ['not a URL', () => 'not a url at all'],
      ['an empty url', () => ''],
      ['a path-traversal URL', () => `${server.url}/../${pub.image_id}`],
      ['a short id', () => `${server.url}/${pub.image_id.slice(0, 31)}`],
      ['a javascript: URL', () => `javascript:alert(1)//${pub.image_id}`],
    ])('is 404 "image not found" for %s', async (_label, url) => {
      await expectError(await oembed(url()), 404, { path: '/api/oembed', message: 'image not found' });
    });

    // A missing or malformed parameter is the client's mistake (400); a url that names no
    // image of ours, however odd, is an image that is not there (404, as COMPAT.md has it).
    it.each([
      ['url is missing', '', /required property 'url'/],
      ['url is given twice', '?url=a&url=b', /url must be string/],
      ['url is longer than 2048 characters', `?url=${'a'.repeat(2049)}`, /more than 2048 characters/],
    ])('is 400 when %s', async (_label, query, message) => {
      await expectError(await fetch(`${server.url}/api/oembed${query}`), 400, {
        path: '/api/oembed',
        message,
      });
    });
  });
});

describe('separate origins for the API, web pages and images', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({
      apiUrl: 'https://api.gazo.test',
      webUrl: 'https://gazo.test',
      imageUrl: 'https://i.gazo.test',
    });
  });
  afterAll(() => server.close());

  it('writes each origin where it belongs', async () => {
    const { token } = await server.user();
    const image = await uploadOk(server, token, await solidPng(10, 10));
    expect(image.permalink_url).toBe(`https://gazo.test/${image.image_id}`);
    expect(image.url).toBe(`https://i.gazo.test/${image.image_id}.png`);
    expect(image.thumb_url.startsWith('https://i.gazo.test/')).toBe(true);

    const text = await (await fetch(`${server.url}/${image.image_id}`)).text();
    expect(tagAttrs(text, /rel="alternate"/)?.href).toBe(
      `https://api.gazo.test/api/oembed?url=${encodeURIComponent(image.permalink_url)}`,
    );
    expect(tagAttrs(text, /property="og:image"/)?.content).toBe(image.url);

    const oembed = await jsonOf(
      await fetch(`${server.url}/api/oembed?url=${encodeURIComponent(image.permalink_url)}`),
    );
    expect(oembed.url).toBe(image.url);
  });
});
