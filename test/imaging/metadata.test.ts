import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ImageType, ImagingError } from '../../src/imaging/imaging.ts';
import { readIdentifyingMetadata, stripIdentifyingMetadata } from '../../src/imaging/metadata.ts';
import {
  animatedGif,
  gifWithMetadata,
  IDENTIFYING,
  jpegSegment,
  photoWithMetadata,
  pngChunk,
  solidJpeg,
  solidPng,
  solidWebp,
  truncated,
  withJpegSegments,
  withPngChunks,
} from '../helpers/images.ts';

/**
 * Stripping identifying metadata from originals, file to file, on real images made by sharp and
 * read back by sharp: the pixels and orientation must survive, the identifying bits must not.
 */
/** Both ways the parsers get the bytes: read from the file, or kept in memory by the upload. */
describe.each(['from the file', 'from memory'])('stripIdentifyingMetadata (%s)', (source) => {
  const inMemory = (at: string) => (source === 'from memory' ? fs.readFile(at) : Promise.resolve(undefined));
  const stripFile = async (at: string, out: string, type: ImageType) =>
    stripIdentifyingMetadata(at, out, type, await inMemory(at));
  const readFile = async (at: string, type: ImageType) =>
    readIdentifyingMetadata((await inMemory(at)) ?? at, type);
  // Files this large are never kept in memory (KEEP_IN_MEMORY_BYTES): only the file way has them.
  const itLargeFile = (name: string, test: () => Promise<void>) => {
    if (source === 'from the file') it(name, test);
  };

  let dir: string;
  let n = 0;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gazo-strip-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const file = async (bytes: Buffer) => {
    const at = path.join(dir, `in-${++n}`);
    await fs.writeFile(at, bytes);
    return at;
  };
  const outPath = () => path.join(dir, `out-${++n}`);
  const exists = (at: string) =>
    fs.stat(at).then(
      () => true,
      () => false,
    );

  /** Strips `bytes` and returns the output, checking that what was reported is what was written. */
  async function strip(bytes: Buffer, type: ImageType) {
    const out = outPath();
    const result = await stripFile(await file(bytes), out, type);
    expect(result.changed).toBe(true);
    const written = await fs.readFile(out);
    expect(result.size).toBe(written.length);
    expect(result.sha256).toBe(createHash('sha256').update(written).digest('hex'));
    return { result, written };
  }

  const raw = (bytes: Buffer) => sharp(bytes, { pages: -1 }).raw().toBuffer();

  function expectNoIdentifyingStrings(bytes: Buffer) {
    for (const secret of [
      IDENTIFYING.artist,
      IDENTIFYING.serial,
      IDENTIFYING.owner,
      IDENTIFYING.xmp,
      'Canon',
    ]) {
      expect(bytes.includes(secret), secret).toBe(false);
    }
    expect(bytes.includes('http://ns.adobe.com/xap/1.0/')).toBe(false);
  }

  const formats = [
    ['jpeg', 'jpg'],
    ['png', 'png'],
    ['webp', 'webp'],
  ] as const;

  for (const [format, type] of formats) {
    describe(format, () => {
      for (const orientation of [1, 6]) {
        it(`removes EXIF, GPS and XMP, keeps pixels, ICC and orientation ${orientation}`, async () => {
          const original = await photoWithMetadata(format, { orientation });
          const before = await sharp(original).metadata();
          // The generator must really carry what the test then expects gone.
          expect(before.exif).toBeDefined();
          expect(before.xmp).toBeDefined();
          expect(original.includes(IDENTIFYING.serial)).toBe(true);

          const { result, written } = await strip(original, type);
          expect(result.location?.latitude).toBeCloseTo(IDENTIFYING.latitude, 9);
          expect(result.location?.longitude).toBeCloseTo(IDENTIFYING.longitude, 9);

          const after = await sharp(written).metadata();
          expect(after.format).toBe(before.format);
          expect(after.orientation ?? 1).toBe(orientation);
          expect(after.icc?.equals(before.icc as Buffer)).toBe(true);
          expect(after.xmp).toBeUndefined();
          // Only the orientation is left of the EXIF: a 26-byte TIFF block (plus JPEG's prefix).
          if (orientation === 1) expect(after.exif).toBeUndefined();
          else expect(after.exif?.length).toBeLessThanOrEqual(32);
          expect((await raw(written)).equals(await raw(original))).toBe(true);
          expectNoIdentifyingStrings(written);

          // What is left is clean: nothing more to remove, no location to find.
          expect(await readFile(await file(written), type)).toEqual({ present: false });
        });
      }

      it('reads southern and western positions as negative', async () => {
        const original = await photoWithMetadata(format, { south: true });
        const { result } = await strip(original, type);
        expect(result.location?.latitude).toBeCloseTo(-IDENTIFYING.latitude, 9);
        expect(result.location?.longitude).toBeCloseTo(-IDENTIFYING.longitude, 9);
      });
    });
  }

  it('leaves an image with nothing to remove alone, writing no file', async () => {
    for (const [bytes, type] of [
      [await solidPng(), 'png'],
      [await solidJpeg(), 'jpg'],
      [await solidWebp(), 'webp'],
      [await animatedGif(), 'gif'],
    ] as const) {
      const out = outPath();
      expect(await stripFile(await file(bytes), out, type), type).toEqual({ changed: false });
      expect(await exists(out)).toBe(false);
    }
  });

  it('does a second strip of its own output as nothing', async () => {
    const { written } = await strip(await photoWithMetadata('jpeg', { orientation: 6 }), 'jpg');
    const out = outPath();
    expect(await stripFile(await file(written), out, 'jpg')).toEqual({ changed: false });
    expect(await exists(out)).toBe(false);
  });

  it('JPEG: drops comments, Photoshop/IPTC, other APPn and whatever follows the end of the image', async () => {
    const base = await photoWithMetadata('jpeg', { progressive: true });
    const original = withJpegSegments(
      base,
      [
        jpegSegment(0xfe, `comment by ${IDENTIFYING.artist}`),
        jpegSegment(0xed, `Photoshop 3.0\0 8BIM ${IDENTIFYING.owner}`),
        jpegSegment(0xe2, `MPF\0 ${IDENTIFYING.serial}`),
        jpegSegment(0xeb, `JP C2PA ${IDENTIFYING.artist}`),
      ],
      // A second image after EOI, as MPF previews and gain maps are stored, with its own EXIF.
      withJpegSegments(await solidJpeg(8, 8), [jpegSegment(0xe1, `Exif\0\0 Canon ${IDENTIFYING.serial}`)]),
    );
    expect((await raw(original)).equals(await raw(base))).toBe(true);
    const { written } = await strip(original, 'jpg');
    expectNoIdentifyingStrings(written);
    expect(written.subarray(-2).equals(Buffer.from([0xff, 0xd9]))).toBe(true);
    expect((await raw(written)).equals(await raw(base))).toBe(true);
    expect((await sharp(written).metadata()).icc).toBeDefined();
  });

  it('PNG: drops text chunks, private chunks and bytes after IEND', async () => {
    const base = await photoWithMetadata('png');
    const original = withPngChunks(
      base,
      [
        pngChunk('tEXt', `Author\0${IDENTIFYING.artist}`),
        pngChunk('zTXt', `Comment\0\0${IDENTIFYING.owner}`),
        pngChunk('caBX', `c2pa ${IDENTIFYING.serial}`),
      ],
      Buffer.from(`trailer ${IDENTIFYING.serial}`),
    );
    const { written } = await strip(original, 'png');
    expectNoIdentifyingStrings(written);
    expect((await raw(written)).equals(await raw(base))).toBe(true);
    expect(written.subarray(-8, -4).toString('latin1')).toBe('IEND');
  });

  it('WebP: the RIFF size and the VP8X flags match what is left', async () => {
    for (const orientation of [1, 6]) {
      const { written } = await strip(await photoWithMetadata('webp', { orientation }), 'webp');
      expect(written.readUInt32LE(4)).toBe(written.length - 8);
      expect(written.toString('latin1', 12, 16)).toBe('VP8X');
      const flags = written[20] as number;
      expect(flags & 0x04).toBe(0); // XMP
      expect(flags & 0x08).toBe(orientation === 1 ? 0 : 0x08); // EXIF
      expect(flags & 0x20).toBe(0x20); // ICC
      expect(written.includes('XMP ')).toBe(false);
      expect(written.includes('EXIF')).toBe(orientation !== 1);
    }
  });

  it('GIF: drops comments, XMP and trailing bytes, keeps the frames and the looping block', async () => {
    const original = await gifWithMetadata();
    const before = await sharp(original).metadata();
    const { written, result } = await strip(original, 'gif');
    expect(result.location).toBeUndefined();
    expectNoIdentifyingStrings(written);
    expect(written.includes('TRAILER')).toBe(false);
    expect(written.includes('NETSCAPE2.0')).toBe(true);
    const after = await sharp(written).metadata();
    expect([after.pages, after.loop, after.delay]).toEqual([before.pages, before.loop, before.delay]);
    expect((await raw(written)).equals(await raw(original))).toBe(true);
  });

  it('JPEG: keeps the Adobe segment a CMYK image needs to decode to the same colours', async () => {
    const cmyk = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#a63' } })
      .withExif({ IFD0: { Artist: IDENTIFYING.artist } })
      .toColourspace('cmyk')
      .jpeg()
      .toBuffer();
    const { written } = await strip(cmyk, 'jpg');
    expect(written.includes(IDENTIFYING.artist)).toBe(false);
    expect(written.includes('Adobe')).toBe(true);
    expect((await sharp(written).metadata()).space).toBe('cmyk');
    expect((await raw(written)).equals(await raw(cmyk))).toBe(true);
  });

  it('WebP: an animation keeps its frames, timing, loop count and orientation', async () => {
    const frames = await Promise.all(
      ['#ff0000', '#0000ff'].map((c) =>
        sharp({ create: { width: 20, height: 20, channels: 3, background: c } })
          .png()
          .toBuffer(),
      ),
    );
    const original = await sharp(frames, { join: { animated: true } })
      .withExif({ IFD0: { Artist: IDENTIFYING.artist }, IFD2: { BodySerialNumber: IDENTIFYING.serial } })
      .withXmp(`<x:xmpmeta xmlns:x="adobe:ns:meta/">${IDENTIFYING.xmp}</x:xmpmeta>`)
      .withMetadata({ orientation: 3 })
      .webp({ loop: 2, delay: [50, 70], lossless: true })
      .toBuffer();
    const before = await sharp(original).metadata();
    const { written } = await strip(original, 'webp');
    expectNoIdentifyingStrings(written);
    const after = await sharp(written).metadata();
    expect([after.pages, after.loop, after.delay, after.orientation]).toEqual([2, 2, [50, 70], 3]);
    expect([after.pages, after.loop]).toEqual([before.pages, before.loop]);
    expect((await raw(written)).equals(await raw(original))).toBe(true);
  });

  describe('broken input', () => {
    /** Every cut of a file, and many single-byte changes, either strip or fail as corrupt: never hang or crash. */
    async function expectNoCrash(bytes: Buffer, type: ImageType) {
      const variants: Buffer[] = [];
      for (let cut = 1; cut < bytes.length; cut += Math.max(1, Math.floor(bytes.length / 60))) {
        variants.push(bytes.subarray(0, cut));
      }
      let seed = 7;
      for (let i = 0; i < 200; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const garbled = Buffer.from(bytes);
        garbled[seed % Math.min(bytes.length, 400)] = seed >> 8;
        variants.push(garbled);
      }
      for (const variant of variants) {
        const out = outPath();
        try {
          await stripFile(await file(variant), out, type);
        } catch (err) {
          expect(err).toBeInstanceOf(ImagingError);
          expect((err as ImagingError).reason).toBe('corrupt');
          expect(await exists(out)).toBe(false);
        }
      }
    }

    it('a truncated file is refused as corrupt, and leaves no output', async () => {
      for (const [bytes, type] of [
        [await photoWithMetadata('jpeg'), 'jpg'],
        [await photoWithMetadata('png'), 'png'],
        [await photoWithMetadata('webp'), 'webp'],
        [await gifWithMetadata(), 'gif'],
      ] as const) {
        const out = outPath();
        const error = await stripFile(await file(truncated(bytes)), out, type).catch((e) => e);
        expect(error, type).toBeInstanceOf(ImagingError);
        expect(error.message).toBe('Image is truncated or corrupt');
        expect(await exists(out)).toBe(false);
      }
    });

    it('cut or garbled files never hang or crash', async () => {
      await expectNoCrash(await photoWithMetadata('jpeg', { orientation: 6 }), 'jpg');
      await expectNoCrash(await photoWithMetadata('png', { orientation: 6 }), 'png');
      await expectNoCrash(await photoWithMetadata('webp', { orientation: 6 }), 'webp');
      await expectNoCrash(await gifWithMetadata(), 'gif');
    });

    it('a crafted EXIF block costs neither seconds nor memory', async () => {
      // IFD0 with 5,000 byte-array tags that each claim 2^32 values: exif-reader 2.0.3 took
      // 9.7 s and 3.1 GB on this block, which is why Gazo reads EXIF with its own bounded reader.
      const entries = 5000;
      const tiff = Buffer.alloc(8 + 2 + entries * 12 + 4);
      tiff.write('MM', 0, 'latin1');
      tiff.writeUInt16BE(42, 2);
      tiff.writeUInt32BE(8, 4);
      tiff.writeUInt16BE(entries, 8);
      for (let i = 0; i < entries; i++) {
        const at = 10 + i * 12;
        tiff.writeUInt16BE(0x9000 + i, at);
        tiff.writeUInt16BE(1, at + 2);
        tiff.writeUInt32BE(0xffffffff, at + 4);
      }
      const bomb = withJpegSegments(await solidJpeg(), [
        jpegSegment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff])),
      ]);
      const started = Date.now();
      const { result } = await strip(bomb, 'jpg');
      expect(Date.now() - started).toBeLessThan(2000);
      expect(result.location).toBeUndefined();
    });
  });

  /** Writes `head`, `count` copies of `block`, then `tail` to a file, a megabyte at a time. */
  async function bigFile(name: string, head: Buffer, block: Buffer, count: number, tail: Buffer) {
    const at = path.join(dir, name);
    const handle = await fs.open(at, 'w');
    await handle.write(head);
    for (let i = 0; i < count; i++) await handle.write(block);
    await handle.write(tail);
    await handle.close();
    return at;
  }

  /** Strips `at` while sampling the process's Buffer memory; answers the peak above the start. */
  async function stripMeasured(at: string, type: ImageType) {
    let peak = 0;
    const base = process.memoryUsage().arrayBuffers;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
    }, 1);
    const started = Date.now();
    const out = outPath();
    const result = await stripFile(at, out, type);
    clearInterval(sampler);
    const elapsed = Date.now() - started;
    const size = (await fs.stat(at)).size;
    console.log(
      `strip of a ${(size / 1e6).toFixed(0)} MB ${type}: ${elapsed} ms, buffers peak +${(peak / 1e6).toFixed(1)} MB`,
    );
    return { result, peak, size, out };
  }

  // A whole-file read would add 48 MB to the peak; the read window and copy buffer are under 1 MB.
  const FLAT = 8 * 1024 * 1024;

  itLargeFile(
    'memory stays flat on a 48 MB PNG: headers are read by position, data copied in chunks',
    async () => {
      // PNG-shaped: a text chunk to remove, then 48 MB of IDAT chunks (never decoded here).
      const start = await solidPng(4, 4);
      const iend = start.length - 12;
      const text = pngChunk('tEXt', `Author\0${IDENTIFYING.artist}`);
      const at = await bigFile(
        'big.png',
        withPngChunks(start.subarray(0, iend), [text]),
        pngChunk('IDAT', Buffer.alloc(1024 * 1024, 0x5a)),
        48,
        start.subarray(iend),
      );
      const { result, peak, size } = await stripMeasured(at, 'png');
      expect(result.size).toBe(size - text.length);
      expect(peak).toBeLessThan(FLAT);
    },
  );

  itLargeFile('memory stays flat on a 48 MB JPEG, whose scan data is read through to its end', async () => {
    // JPEG-shaped: EXIF with GPS, a scan header, 48 MB of entropy-coded bytes, EOI, and a
    // trailer to remove.
    const photo = await photoWithMetadata('jpeg');
    const sos = photo.lastIndexOf(Buffer.from([0xff, 0xda]));
    const header = photo.subarray(0, sos + 2 + photo.readUInt16BE(sos + 2));
    const block = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = (i * 7 + (i >> 9)) & 0xff;
    // Every 0xFF stuffed with 0x00, and a restart marker after each megabyte.
    const stuffed = Buffer.concat([
      Buffer.from(block.toString('latin1').replaceAll('\xff', '\xff\x00'), 'latin1'),
      Buffer.from([0xff, 0xd0]),
    ]);
    const at = await bigFile('big.jpg', header, stuffed, 48, Buffer.from([0xff, 0xd9, 1, 2, 3]));
    const { result, peak, size, out } = await stripMeasured(at, 'jpg');
    expect(result.location?.latitude).toBeCloseTo(IDENTIFYING.latitude, 9);
    expect(peak).toBeLessThan(FLAT);
    // All of the scan data is there, up to and with EOI; the trailer is not.
    const kept = await fs.open(out, 'r');
    const tail = Buffer.alloc(2 + stuffed.length);
    await kept.read(tail, 0, tail.length, (result.size as number) - tail.length);
    await kept.close();
    expect(tail.equals(Buffer.concat([stuffed, Buffer.from([0xff, 0xd9])]))).toBe(true);
    expect(size - (result.size as number)).toBeGreaterThan(3);
  });

  itLargeFile('memory stays flat on a WebP whose VP8X chunk is 48 MB long', async () => {
    // The flags byte changes (XMP goes), the rest of the chunk is copied, not read whole.
    const filler = 48 * 1024 * 1024;
    const vp8xSize = 10 + filler;
    const xmp = Buffer.from('XMP \x04\x00\x00\x00ABCD', 'latin1');
    const total = 12 + 8 + vp8xSize + xmp.length;
    const head = Buffer.alloc(12 + 8 + 10);
    head.write('RIFF', 0, 'latin1');
    head.writeUInt32LE(total - 8, 4);
    head.write('WEBPVP8X', 8, 'latin1');
    head.writeUInt32LE(vp8xSize, 16);
    head[20] = 0x04; // the XMP flag
    const at = await bigFile('big.webp', head, Buffer.alloc(1024 * 1024), 48, xmp);
    const { result, peak, out } = await stripMeasured(at, 'webp');
    expect(result.size).toBe(total - xmp.length);
    expect(peak).toBeLessThan(FLAT);
    const written = await fs.open(out, 'r');
    const front = Buffer.alloc(21);
    await written.read(front, 0, 21, 0);
    await written.close();
    expect(front.readUInt32LE(4)).toBe(total - xmp.length - 8);
    expect(front[20]).toBe(0);
  });
});
