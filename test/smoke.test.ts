import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solidPng } from './helpers/images.ts';
import { form, startServer, type TestServer } from './helpers/server.ts';

describe('smoke', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  it('uploads and lists', async () => {
    const { token } = await server.user();
    const png = await solidPng();
    const res = await fetch(`${server.url}/api/upload?access_token=${token}`, {
      method: 'POST',
      body: form({ imagedata: { data: png } }),
    });
    expect(res.status).toBe(200);
    const image = await res.json();
    expect(image.image_id).toMatch(/^[0-9a-f]{32}$/);
    const raw = await fetch(image.url);
    expect(Buffer.from(await raw.arrayBuffer()).equals(png)).toBe(true);

    const list = await fetch(`${server.url}/api/images`, { headers: { authorization: `Bearer ${token}` } });
    expect(list.status).toBe(200);
    expect(list.headers.get('x-total-count')).toBe('1');
    const listed = await list.json();
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ image_id: image.image_id, url: image.url, type: 'png' });
  });
});
