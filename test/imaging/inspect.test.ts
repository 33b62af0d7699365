import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImagingError, inspectImage } from '../../src/imaging/imaging.ts';
import { animatedGif, pixelBombPng, rotatedJpeg, solidPng, solidWebp } from '../helpers/images.ts';

const MAX_PIXELS = 100_000_000;

/** A 2×2 24-bit BMP, written by hand (sharp does not write BMP). */
function bmp(): Buffer {
  const rowBytes = 8; // 2 pixels × 3 bytes, padded to 4
  const out = Buffer.alloc(54 + rowBytes * 2);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(54, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(2, 18);
  out.writeInt32LE(2, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  return out;
}

/** An ISOBMFF file start: an `ftyp` box with the given brands, then filler. */
function ftyp(major: string, ...compatible: string[]): Buffer {
  const box = Buffer.alloc(16 + compatible.length * 4);
  box.writeUInt32BE(box.length, 0);
  box.write(`ftyp${major}`, 4, 'latin1');
  for (const [i, brand] of compatible.entries()) box.write(brand, 16 + i * 4, 'latin1');
  return Buffer.concat([box, Buffer.alloc(200, 1)]);
}

/** Unsupported image types are refused by name, whether the image comes as bytes or as a file. */
describe('inspectImage', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gazo-inspect-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });
  let n = 0;
  const asFile = async (bytes: Buffer) => {
    const at = path.join(dir, `upload-${++n}`);
    await fs.writeFile(at, bytes);
    return at;
  };

  const base = () => sharp({ create: { width: 16, height: 8, channels: 3, background: '#123456' } });
  const cases: Array<[string, () => Promise<Buffer> | Buffer]> = [
    ['HEIC', () => ftyp('heic', 'mif1', 'heic')],
    ['HEIC', () => ftyp('mif1', 'mif1', 'heic')],
    ['HEIF', () => ftyp('mif1', 'mif1')],
    ['AVIF', () => base().avif().toBuffer()],
    ['TIFF', () => base().tiff().toBuffer()],
    ['BMP', bmp],
    ['ICO', () => Buffer.concat([Buffer.from([0, 0, 1, 0, 1, 0, 16, 16]), Buffer.alloc(100)])],
    ['SVG', () => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>')],
    [
      'SVG',
      () =>
        Buffer.from(
          '\uFEFF<?xml version="1.0"?>\n<!-- drawn -->\n<!DOCTYPE svg>\n<svg width="4" height="4"></svg>',
        ),
    ],
    ['PDF', () => Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n', 'latin1')],
    ['JPEG XL', () => Buffer.concat([Buffer.from([0xff, 0x0a, 0xfa, 0x10]), Buffer.alloc(64)])],
    ['JPEG XL', () => Buffer.concat([Buffer.from('0000000c4a584c200d0a870a', 'hex'), ftyp('jxl ', 'jxl ')])],
    ['PSD', () => Buffer.concat([Buffer.from('8BPS', 'latin1'), Buffer.from([0, 1]), Buffer.alloc(64)])],
  ];

  for (const [name, make] of cases) {
    it(`names ${name} in its refusal`, async () => {
      const bytes = await make();
      for (const input of [bytes, await asFile(bytes)]) {
        const error = await inspectImage(input, MAX_PIXELS).catch((e) => e);
        expect(error).toBeInstanceOf(ImagingError);
        expect(error.reason).toBe('not_an_image');
        expect(error.message).toBe(`${name} is not supported; send PNG, JPEG, GIF or WebP`);
      }
    });
  }

  it('still says "Not an Image" for bytes of no known type', async () => {
    for (const bytes of [
      Buffer.from('hello, I am plain text'),
      Buffer.from('BM but not a bitmap'),
      Buffer.alloc(0),
    ]) {
      for (const input of [bytes, await asFile(bytes)]) {
        await expect(inspectImage(input, MAX_PIXELS)).rejects.toThrow(/^Not an Image$/);
      }
    }
  });

  it('answers the same for a file as for the same bytes in memory', async () => {
    for (const bytes of [
      await solidPng(30, 20),
      await rotatedJpeg(),
      await animatedGif(),
      await solidWebp(),
    ]) {
      const fromBuffer = await inspectImage(bytes, MAX_PIXELS);
      expect(await inspectImage(await asFile(bytes), MAX_PIXELS)).toEqual(fromBuffer);
    }
    expect(await inspectImage(await asFile(await rotatedJpeg()), MAX_PIXELS)).toEqual({
      type: 'jpg',
      width: 40,
      height: 60,
    });
    const bomb = await asFile(await pixelBombPng());
    await expect(inspectImage(bomb, MAX_PIXELS)).rejects.toMatchObject({ reason: 'too_many_pixels' });
  });
});
