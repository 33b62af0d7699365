import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fieldPart,
  jsonOf,
  type RawPart,
  rawMultipart,
  storedState,
  type WireImage,
} from '../helpers/api.ts';
import { solidJpeg, solidPng } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/** The legacy desktop-client protocol, as Gyazo for Linux speaks it. */
describe('POST /upload.cgi', () => {
  let server: TestServer;
  let user: { name: string; token: string };
  let deviceId: string;

  beforeAll(async () => {
    server = await startServer();
    user = await server.user();
    ({ deviceId } = await server.rt.accounts.createDevice(user.name));
  });
  afterAll(() => server.close());

  /** The image part exactly as the Linux client writes it: filename gyazo.com, no Content-Type. */
  const imagePart = (bytes: Buffer, lower = false): RawPart => ({
    headers: [
      `${lower ? 'content-disposition' : 'Content-Disposition'}: form-data; name="imagedata"; filename="gyazo.com"`,
    ],
    body: bytes,
  });

  const post = (parts: RawPart[]) => {
    const { body, contentType } = rawMultipart(parts);
    return fetch(`${server.url}/upload.cgi`, {
      method: 'POST',
      body,
      headers: { 'content-type': contentType },
    });
  };

  /** The image a legacy answer names, through the API. */
  async function imageAt(permalink: string): Promise<WireImage> {
    const id = permalink.trim().split('/').pop();
    const res = await fetch(`${server.url}/api/images/${id}?access_token=${user.token}`);
    expect(res.status).toBe(200);
    return jsonOf<WireImage>(res);
  }

  it('answers the permalink as plain text with X-Gyazo-Id, and stores the metadata', async () => {
    const bytes = await solidPng(40, 30, '#0a0b0c');
    const metadata = JSON.stringify({
      app: 'Terminal',
      title: 'My window',
      url: 'https://example.net/x',
      note: 'a note',
    });
    const res = await post([fieldPart('id', deviceId), fieldPart('metadata', metadata), imagePart(bytes)]);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.headers.get('x-gyazo-id')).toBe(deviceId);
    const permalink = text.trim();
    expect(permalink).toMatch(new RegExp(`^${server.url}/[0-9a-f]{32}$`));

    const image = await imageAt(permalink);
    expect(image.permalink_url).toBe(permalink);
    expect(image.type).toBe('png');
    expect(image.metadata).toEqual({
      app: 'Terminal',
      title: 'My window',
      url: 'https://example.net/x',
      desc: 'a note',
    });
    const page = await fetch(permalink);
    expect(page.status).toBe(200);
    await page.arrayBuffer();
    const raw = await fetch(image.url);
    expect(Buffer.from(await raw.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('accepts lower-case part headers, the id after imagedata, no metadata, and created_at', async () => {
    const bytes = await solidJpeg(20, 20, '#202020');
    const res = await post([
      imagePart(bytes, true),
      { headers: ['content-disposition: form-data; name="created_at"'], body: '1400000000' },
      { headers: ['content-disposition: form-data; name="id"'], body: deviceId },
    ]);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(res.headers.get('x-gyazo-id')).toBe(deviceId);
    const image = await imageAt(text);
    expect(text.trim()).toBe(image.permalink_url);
    expect(image.type).toBe('jpg');
    expect(image.created_at).toBe('2014-05-13T16:53:20+0000');
    expect(image.metadata).toEqual({ app: null, title: null, url: null, desc: '' });
  });

  async function expectRefused(parts: RawPart[], status: number) {
    const before = await storedState(server);
    const res = await post(parts);
    const text = await res.text();
    expect(res.status, text).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    // One line of text a person can read, not JSON or HTML.
    expect(text.trim().length).toBeGreaterThan(0);
    expect(text.trim()).not.toContain('\n');
    expect(text).not.toMatch(/^[{<]/);
    expect(res.headers.get('x-gyazo-id')).toBeNull();
    expect(await storedState(server)).toEqual(before);
    return text;
  }

  it('is 401 with a plain-text line for an empty, unknown or missing device id', async () => {
    const bytes = await solidPng(10, 10, '#303030');
    await expectRefused([fieldPart('id', ''), imagePart(bytes)], 401);
    await expectRefused([fieldPart('id', 'f'.repeat(40)), imagePart(bytes)], 401);
    await expectRefused([imagePart(bytes)], 401);
    // An API access token is not a device id.
    await expectRefused([fieldPart('id', user.token), imagePart(bytes)], 401);
  });

  it('refuses a revoked device', async () => {
    const { deviceId: revoked } = await server.rt.accounts.createDevice(user.name);
    expect(await server.rt.accounts.revokeDevice(revoked)).toBe(true);
    await expectRefused([fieldPart('id', revoked), imagePart(await solidPng(10, 10, '#404040'))], 401);
  });

  it('refuses bytes that are not an image with 422', async () => {
    const text = await expectRefused(
      [fieldPart('id', deviceId), imagePart(Buffer.from('this is not an image at all'))],
      422,
    );
    expect(text).toContain('Not an Image');
  });

  it('refuses missing imagedata and malformed metadata with 400', async () => {
    await expectRefused([fieldPart('id', deviceId)], 400);
    await expectRefused(
      [fieldPart('id', deviceId), fieldPart('metadata', '{not json'), imagePart(await solidPng(10, 10))],
      400,
    );
    await expectRefused(
      [fieldPart('id', deviceId), fieldPart('created_at', 'yesterday'), imagePart(await solidPng(10, 11))],
      400,
    );
  });
});
