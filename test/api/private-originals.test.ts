import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonOf, type WireImage } from '../helpers/api.ts';
import { IDENTIFYING, photoWithMetadata } from '../helpers/images.ts';
import { form, startServer, type TestServer } from '../helpers/server.ts';

/**
 * Through the whole upload path: what the world is served of a phone photo. Finding: public
 * originals kept their EXIF, GPS location and camera serial included.
 */
describe.each([
  ['by default', {}, false],
  ['with --keep-metadata', { keepMetadata: true }, true],
])('an uploaded photo %s', (_name, overrides, kept) => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startServer(overrides);
    token = (await server.user()).token;
  });
  afterAll(() => server.close());

  const upload = async (bytes: Buffer) => {
    const res = await fetch(`${server.url}/api/upload?access_token=${token}`, {
      method: 'POST',
      body: form({ imagedata: { data: bytes } }),
    });
    expect(res.status).toBe(200);
    return (await jsonOf(res)) as WireImage & { exif_normalized?: { latitude: number; longitude: number } };
  };

  it.each(['jpeg', 'png', 'webp'] as const)(
    '%s: the owner gets the location; the file served is as promised',
    async (format) => {
      const bytes = await photoWithMetadata(format, { orientation: 6 });
      const image = await upload(bytes);
      expect(image.exif_normalized?.latitude).toBeCloseTo(IDENTIFYING.latitude, 4);
      expect(image.exif_normalized?.longitude).toBeCloseTo(IDENTIFYING.longitude, 4);

      const served = Buffer.from(await (await fetch(image.url)).arrayBuffer());
      expect(served.equals(bytes)).toBe(kept);
      const secrets = [IDENTIFYING.serial, IDENTIFYING.artist, IDENTIFYING.owner, IDENTIFYING.xmp].filter(
        (secret) => bytes.includes(secret),
      );
      expect(secrets).toContain(IDENTIFYING.serial);
      for (const secret of secrets) expect(served.includes(secret), secret).toBe(kept);
      expect((await sharp(served).metadata()).orientation).toBe(6);
      expect((await sharp(served).raw().toBuffer()).equals(await sharp(bytes).raw().toBuffer())).toBe(true);

      // The permalink page and oEmbed say nothing of where it was taken.
      const page = await (await fetch(image.permalink_url)).text();
      const oembed = await (
        await fetch(`${server.url}/api/oembed?url=${encodeURIComponent(image.permalink_url)}`)
      ).text();
      for (const text of [page, oembed]) expect(text).not.toMatch(/exif_normalized|latitude|35\.65/);
    },
  );
});
