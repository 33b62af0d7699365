import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageType } from '../../src/imaging/imaging.ts';
import { checkStructure } from '../../src/imaging/structure.ts';
import {
  animatedGif,
  rotatedJpeg,
  screenshotPng,
  solidGif,
  solidJpeg,
  solidPng,
  solidWebp,
} from '../helpers/images.ts';
import { makeDataDir } from '../helpers/server.ts';

/** Both ways an upload is checked: read from its staged file, or from the bytes kept in memory. */
describe.each(['from the file', 'from memory'])('checkStructure (%s)', (source) => {
  let dir: string;
  let n = 0;
  const samples: Array<[string, ImageType, () => Promise<Buffer>]> = [
    ['a PNG', 'png', () => solidPng(300, 200)],
    ['a screenshot PNG', 'png', () => screenshotPng(640, 360)],
    ['a JPEG', 'jpg', () => solidJpeg(300, 200)],
    ['a JPEG with EXIF', 'jpg', () => rotatedJpeg()],
    ['an animated GIF', 'gif', () => animatedGif()],
    ['a large GIF', 'gif', async () => solidGif(2000, 1500)],
    ['a WebP', 'webp', () => solidWebp(300, 200)],
  ];

  beforeAll(async () => {
    dir = await makeDataDir();
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  const check = async (bytes: Buffer, type: ImageType) => {
    const file = path.join(dir, `${++n}`);
    await fs.writeFile(file, bytes);
    return checkStructure(source === 'from memory' ? bytes : file, type).then(
      () => 'ok',
      (err: Error) => err.message,
    );
  };

  it.each(samples)('accepts %s that is whole', async (_name, type, make) => {
    expect(await check(await make(), type)).toBe('ok');
  });

  it.each(samples)('refuses %s cut short anywhere', async (_name, type, make) => {
    const bytes = await make();
    for (const fraction of [0.1, 0.5, 0.9, 0.99]) {
      const cut = bytes.subarray(0, Math.floor(bytes.length * fraction));
      expect(await check(cut, type), `cut at ${fraction}`).toBe('Image is truncated or corrupt');
    }
    expect(await check(bytes.subarray(0, bytes.length - 1), type)).toBe('Image is truncated or corrupt');
  });

  it('refuses a PNG with one byte changed inside its pixel data (CRC)', async () => {
    const bytes = Buffer.from(await screenshotPng(320, 200));
    const idat = bytes.indexOf('IDAT');
    bytes[idat + 100] = (bytes[idat + 100] as number) ^ 0x40;
    expect(await check(bytes, 'png')).toBe('Image is truncated or corrupt');
  });

  it('accepts bytes after the end marker, as some cameras write', async () => {
    const jpeg = Buffer.concat([await solidJpeg(), Buffer.from('trailer from a camera')]);
    expect(await check(jpeg, 'jpg')).toBe('ok');
  });

  it('refuses a file that is not of the type claimed', async () => {
    expect(await check(await solidPng(), 'jpg')).toBe('Image is truncated or corrupt');
    expect(await check(await solidJpeg(), 'webp')).toBe('Image is truncated or corrupt');
  });
});
