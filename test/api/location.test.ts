import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectImageObject, jsonOf, type WireImage } from '../helpers/api.ts';
import { imageRow } from '../helpers/rows.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/**
 * The location read from an upload's EXIF is the owner's to see (`exif_normalized`, as Gyazo
 * names it) and nobody else's: not on oEmbed, not on the public permalink page.
 */
describe('exif_normalized', () => {
  let server: TestServer;
  let owner: { token: string; id: number };
  let other: { token: string };
  const LATITUDE = 35.658083;
  const LONGITUDE = -139.741333;
  let located: string;
  let plain: string;

  beforeAll(async () => {
    server = await startServer();
    owner = await server.user();
    other = await server.user();
    // Rows as an upload writes them (the upload path that reads EXIF fills these columns).
    const insert = async (overrides: Parameters<typeof imageRow>[2]) => {
      const row = imageRow(owner.id, Date.now(), {
        title: 'findable photo',
        metadata_is_public: true,
        ...overrides,
      });
      const pending = await server.rt.store.blobLedger.addPending(row.blob_key, Date.now());
      return (await server.rt.store.images.insert(row, pending)).image_id;
    };
    located = await insert({ latitude: LATITUDE, longitude: LONGITUDE });
    plain = await insert({});
  });
  afterAll(() => server.close());

  const api = (path: string, token = owner.token) =>
    fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

  it('is in the owner’s image, list and search answers', async () => {
    const one = await jsonOf<WireImage>(await api(`/api/images/${located}`));
    expect(one.exif_normalized).toEqual({ latitude: LATITUDE, longitude: LONGITUDE });
    expectImageObject(one, server);

    const list = await jsonOf<WireImage[]>(await api('/api/images'));
    expect(list.find((i) => i.image_id === located)?.exif_normalized).toEqual({
      latitude: LATITUDE,
      longitude: LONGITUDE,
    });

    const found = await jsonOf<WireImage[]>(await api('/api/search?query=findable'));
    expect(found.find((i) => i.image_id === located)?.exif_normalized).toEqual({
      latitude: LATITUDE,
      longitude: LONGITUDE,
    });
  });

  it('is absent, not empty or null, when the image has no location', async () => {
    const one = await jsonOf<WireImage>(await api(`/api/images/${plain}`));
    expect('exif_normalized' in one).toBe(false);
    const list = await jsonOf<WireImage[]>(await api('/api/images'));
    expect('exif_normalized' in (list.find((i) => i.image_id === plain) as WireImage)).toBe(false);
  });

  it('is never shown to anyone else: not on oEmbed, the permalink page or another user’s answers', async () => {
    const permalink = `${server.url}/${located}`;
    const digits = String(LATITUDE).slice(0, 6);
    const page = await fetch(permalink);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('findable photo');
    expect(html).not.toContain(digits);
    expect(html).not.toContain('exif_normalized');

    const oembed = await fetch(`${server.url}/api/oembed?url=${encodeURIComponent(permalink)}`);
    expect(oembed.status).toBe(200);
    const text = await oembed.text();
    expect(text).not.toContain(digits);
    expect(text).not.toContain('exif_normalized');

    expect((await api(`/api/images/${located}`, other.token)).status).toBe(404);
    expect(await jsonOf<WireImage[]>(await api('/api/search?query=findable', other.token))).toEqual([]);
  });

  it('is described in the OpenAPI document as optional', async () => {
    const doc = await jsonOf(await fetch(`${server.url}/api/openapi.json`));
    const image = doc.components.schemas.Image;
    expect(image.properties.exif_normalized.required).toEqual(['latitude', 'longitude']);
    expect(image.required).not.toContain('exif_normalized');
  });
});
