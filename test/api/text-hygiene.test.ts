import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, jsonOf, storedState, upload, uploadOk } from '../helpers/api.ts';
import { solidPng } from '../helpers/images.ts';
import { form, startServer, type TestServer } from '../helpers/server.ts';

/**
 * Text that users send is text: C0 control characters (but tab, CR and LF) are refused, and
 * bidi controls cannot reorder the page around the text that carries them.
 */
describe('text fields', () => {
  let server: TestServer;
  let token: string;
  let deviceId: string;
  let png: Buffer;

  beforeAll(async () => {
    server = await startServer();
    const user = await server.user();
    token = user.token;
    ({ deviceId } = await server.rt.accounts.createDevice(user.name));
    png = await solidPng(12, 12);
  });
  afterAll(() => server.close());

  const controls = ['\u0000', '\u0001', '\u0007', '\u0008', '\u000b', '\u000c', '\u001b', '\u001f'];

  it.each(['title', 'desc', 'app', 'referer_url'])('refuses C0 controls in %s with 400', async (field) => {
    for (const control of controls) {
      const before = await storedState(server);
      const res = await upload(server, token, { imagedata: { data: png }, [field]: `a${control}b` });
      const body = await expectError(res, 400, { path: '/api/upload', method: 'POST' });
      expect(body.message).toContain(field);
      expect(body.message).toContain(
        `U+${control.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
      );
      expect(await storedState(server)).toEqual(before);
    }
  });

  it('keeps tab, CR and LF', async () => {
    // (FormData sends every line break as CRLF.)
    const desc = 'line one\r\nline\ttwo\r\n';
    const image = await uploadOk(server, token, png, { desc, title: 'a\tb' });
    const res = await fetch(`${server.url}/api/images/${image.image_id}?access_token=${token}`);
    const stored = await jsonOf(res);
    expect(stored.metadata.desc).toBe(desc);
    expect(stored.metadata.title).toBe('a\tb');
  });

  it('refuses C0 controls in the legacy metadata JSON, in plain text', async () => {
    for (const key of ['title', 'app', 'url', 'note']) {
      const before = await storedState(server);
      const res = await fetch(`${server.url}/upload.cgi`, {
        method: 'POST',
        body: form({
          id: deviceId,
          metadata: JSON.stringify({ [key]: 'x\u0000y' }),
          imagedata: { data: png },
        }),
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(await res.text()).toMatch(/control character/);
      expect(await storedState(server)).toEqual(before);
    }
  });
});

describe('bidi controls on the permalink page', () => {
  let server: TestServer;
  let page: string;
  const title = 'Invoice \u202Efdp.exe';
  const desc = 'paid \u2066\u202Bin full';

  beforeAll(async () => {
    server = await startServer();
    const { token } = await server.user();
    const image = await uploadOk(server, token, await solidPng(14, 14), {
      title,
      desc,
      metadata_is_public: 'true',
      referer_url: 'https://example.com/\u202Ex',
    });
    page = await (await fetch(`${server.url}/${image.image_id}`)).text();
  });
  afterAll(() => server.close());

  const BIDI = /[\u202A-\u202E\u2066-\u2069]/;

  it('leaves them out of <title>, meta tags and attributes, where markup cannot isolate them', () => {
    const head = page.slice(0, page.indexOf('</head>'));
    expect(head).toMatch(/<title>Invoice fdp\.exe<\/title>/);
    expect(head).toContain('content="Invoice fdp.exe"');
    expect(head).toContain('content="paid in full"');
    for (const [attribute] of page.matchAll(/\s[a-z:-]+="[^"]*"/g)) expect(attribute).not.toMatch(BIDI);
    expect(head).not.toMatch(BIDI);
    // A link still points where it did, the control percent-encoded.
    expect(page).toContain('href="https://example.com/%E2%80%AEx"');
  });

  it('isolates the user text that shows them, so they reorder nothing around it', () => {
    const body = page.slice(page.indexOf('<body>'));
    // Every run of text that carries a bidi control sits inside an element of its own with
    // dir="auto", which isolates it (and the page's CSS says so for older engines).
    const isolated = [
      ...body.matchAll(/<(h1|p|bdi) dir="auto"[^>]*>([^<]*(?:<a [^>]*>[^<]*<\/a>)?[^<]*)<\/\1>/g),
    ];
    const texts = isolated.map((m) => m[2]);
    expect(texts).toContain(title);
    expect(texts).toContain(desc);
    expect(texts.some((t) => t?.includes('https://example.com/\u202Ex'))).toBe(true);
    const outside = isolated.reduce((rest, m) => rest.replace(m[0], ''), body);
    expect(outside).not.toMatch(BIDI);
    expect(page).toMatch(/unicode-bidi:\s*isolate/);
  });
});
