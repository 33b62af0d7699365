import fs from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkStructure, type StructuredType } from '../../src/imaging/structure.ts';
import { animatedGif, screenshotPng, solidJpeg, solidPng, solidWebp } from '../helpers/images.ts';
import { makeDataDir } from '../helpers/server.ts';

/** The same PNG with all its image data in one IDAT chunk. */
function oneIdat(png: Buffer): Buffer {
  const chunks: Array<{ name: string; data: Buffer }> = [];
  for (let p = 8; p < png.length; ) {
    const length = png.readUInt32BE(p);
    chunks.push({ name: png.toString('latin1', p + 4, p + 8), data: png.subarray(p + 8, p + 8 + length) });
    p += 12 + length;
  }
  const chunk = (name: string, data: Buffer) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(name, 4, 'latin1');
    data.copy(out, 8);
    out.writeUInt32BE(zlib.crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const idat = Buffer.concat(chunks.filter((c) => c.name === 'IDAT').map((c) => c.data));
  const rest = chunks.filter((c) => c.name !== 'IDAT' && c.name !== 'IEND');
  return Buffer.concat([
    png.subarray(0, 8),
    ...rest.map((c) => chunk(c.name, c.data)),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * Structural checks on real encoder output (sharp), then on the same files cut short or with
 * bytes changed: every whole file passes, and no damaged one does.
 */
describe('checkStructure', () => {
  let dir: string;
  let n = 0;
  const check = async (bytes: Buffer, type: StructuredType) => {
    const file = path.join(dir, `img-${++n}`);
    await fs.writeFile(file, bytes);
    return checkStructure(file, type);
  };
  const flip = (bytes: Buffer, at: number) => {
    const copy = Buffer.from(bytes);
    copy[at] = (copy[at] as number) ^ 0x55;
    return copy;
  };

  const samples: Array<[StructuredType, string, () => Promise<Buffer>]> = [
    ['png', 'a small PNG', () => solidPng(40, 30)],
    // Many IDAT chunks.
    ['png', 'a 1920×1080 screenshot PNG', () => screenshotPng(1920, 1080, 3)],
    // One IDAT chunk of ~280 KB, several times the reader's buffer.
    ['png', 'a PNG with one large IDAT', async () => oneIdat(await screenshotPng(1920, 1080, 4))],
    ['jpg', 'a baseline JPEG', () => solidJpeg(300, 200)],
    [
      'jpg',
      'a progressive JPEG with detail and restart markers',
      async () =>
        sharp(await screenshotPng(800, 600, 5))
          .jpeg({ progressive: true, quality: 90 })
          .toBuffer(),
    ],
    ['gif', 'an animated GIF', () => animatedGif(40, 30)],
    ['webp', 'a lossy WebP', () => solidWebp(50, 40)],
    [
      'webp',
      'a lossless WebP with an alpha channel',
      () =>
        sharp({
          create: { width: 30, height: 30, channels: 4, background: { r: 1, g: 2, b: 3, alpha: 0.5 } },
        })
          .webp({ lossless: true })
          .toBuffer(),
    ],
  ];
  const made = new Map<string, Buffer>();

  beforeAll(async () => {
    dir = await makeDataDir();
    for (const [, name, make] of samples) made.set(name, await make());
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  for (const [type, name] of samples) {
    it(`accepts ${name}, also with bytes after its end`, async () => {
      const bytes = made.get(name) as Buffer;
      expect(await check(bytes, type)).toEqual({ ok: true });
      if (type !== 'webp') {
        expect(await check(Buffer.concat([bytes, Buffer.from('trailing bytes')]), type)).toEqual({
          ok: true,
        });
      }
    });

    it(`refuses ${name} cut short anywhere`, async () => {
      const bytes = made.get(name) as Buffer;
      const cuts = new Set([
        1,
        8,
        20,
        Math.floor(bytes.length / 3),
        Math.floor(bytes.length / 2),
        bytes.length - 2,
        bytes.length - 1,
      ]);
      for (const cut of cuts) {
        const result = await check(bytes.subarray(0, cut), type);
        expect(result, `cut at ${cut} of ${bytes.length}`).toMatchObject({ ok: false });
      }
    });
  }

  it('refuses a PNG with one changed byte in its image data (CRC)', async () => {
    for (const name of ['a 1920×1080 screenshot PNG', 'a PNG with one large IDAT']) {
      const png = made.get(name) as Buffer;
      const idat = png.indexOf('IDAT', 0, 'latin1');
      for (const at of [idat + 100, png.length - 20_000]) {
        const result = await check(flip(png, at), 'png');
        expect(result, `${name}, byte ${at}`).toEqual({
          ok: false,
          reason: expect.stringMatching(/corrupt: chunk IDAT .*CRC/),
        });
      }
      expect(
        await sharp(flip(png, idat + 100))
          .toBuffer()
          .then(
            () => 'decoded',
            () => 'failed',
          ),
      ).toBe('failed');
    }
  });

  it('says "truncated" for a file that ends early, "corrupt" for one that is damaged', async () => {
    const png = made.get('a small PNG') as Buffer;
    expect(await check(png.subarray(0, png.length - 5), 'png')).toEqual({
      ok: false,
      reason: expect.stringMatching(/^truncated: /),
    });
    expect(await check(flip(png, 0), 'png')).toEqual({
      ok: false,
      reason: expect.stringMatching(/^corrupt: /),
    });
  });

  it('refuses a JPEG whose EOI is gone or whose segment lengths are wrong', async () => {
    const jpeg = made.get('a baseline JPEG') as Buffer;
    expect(jpeg.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
    expect(await check(jpeg.subarray(0, jpeg.length - 2), 'jpg')).toMatchObject({ ok: false });
    // The first segment after SOI (APP0 or DQT): make its length point into the middle of nowhere.
    const bad = Buffer.from(jpeg);
    bad.writeUInt16BE(1, 4);
    expect(await check(bad, 'jpg')).toMatchObject({ ok: false });
  });

  it('refuses a GIF without its trailer, or with an unknown block', async () => {
    const gif = made.get('an animated GIF') as Buffer;
    expect(gif[gif.length - 1]).toBe(0x3b);
    expect(await check(gif.subarray(0, gif.length - 1), 'gif')).toEqual({
      ok: false,
      reason: expect.stringMatching(/^truncated: .*trailer/),
    });
    const bad = Buffer.from(gif);
    bad[bad.length - 1] = 0x99;
    expect(await check(bad, 'gif')).toMatchObject({ ok: false });
  });

  it('refuses a WebP whose RIFF size claims more than the file holds, or less than its chunks', async () => {
    const webp = made.get('a lossy WebP') as Buffer;
    const longer = Buffer.from(webp);
    longer.writeUInt32LE(webp.readUInt32LE(4) + 2, 4);
    expect(await check(longer, 'webp')).toEqual({
      ok: false,
      reason: expect.stringMatching(/^truncated: .*RIFF/),
    });
    const shorter = Buffer.from(webp);
    shorter.writeUInt32LE(webp.readUInt32LE(4) - 2, 4);
    expect(await check(shorter, 'webp')).toMatchObject({ ok: false });
  });

  it('refuses bytes of another type', async () => {
    const png = made.get('a small PNG') as Buffer;
    for (const type of ['jpg', 'gif', 'webp'] as const)
      expect(await check(png, type)).toMatchObject({ ok: false });
  });
});
