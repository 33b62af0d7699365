import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { pngChunk as makePngChunk } from '../../src/imaging/strip/png.ts';

/** Test images are made here, in code, never committed as files. */

export function solidPng(width = 64, height = 48, color = '#3366aa'): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: color } })
    .png()
    .toBuffer();
}

export function solidJpeg(width = 64, height = 48, color = '#aa6633'): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: color } })
    .jpeg()
    .toBuffer();
}

export function solidWebp(width = 64, height = 48, color = '#33aa66'): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: color } })
    .webp()
    .toBuffer();
}

/** A two-frame animated GIF. */
export async function animatedGif(width = 32, height = 32): Promise<Buffer> {
  const frames = await Promise.all(
    ['#ff0000', '#0000ff'].map((c) =>
      sharp({ create: { width, height, channels: 3, background: c } })
        .png()
        .toBuffer(),
    ),
  );
  return sharp(frames, { join: { animated: true } })
    .gif({ loop: 0, delay: [100, 100] })
    .toBuffer();
}

/** A JPEG whose EXIF says "rotate 90° clockwise" (orientation 6): stored 60×40, shown 40×60. */
export function rotatedJpeg(): Promise<Buffer> {
  return sharp({ create: { width: 60, height: 40, channels: 3, background: '#808080' } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

/**
 * Something like a screenshot: a light page with many small dark blocks (text-like detail,
 * which is what makes real screenshots expensive to compress), different for every `seed`.
 */
export async function screenshotPng(width = 1920, height = 1080, seed = 1): Promise<Buffer> {
  const channels = 3;
  const pixels = Buffer.alloc(width * height * channels, 0xf4);
  let state = seed * 2654435761;
  const rand = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  for (let line = 40; line < height - 20; line += 22) {
    let x = 20 + Math.floor(rand() * 40);
    while (x < width - 200) {
      const word = 12 + Math.floor(rand() * 60);
      const shade = Math.floor(rand() * 80);
      for (let y = line; y < line + 12; y++) {
        for (let dx = 0; dx < word; dx++) {
          if (rand() < 0.55) {
            const i = (y * width + x + dx) * channels;
            pixels[i] = shade;
            pixels[i + 1] = shade;
            pixels[i + 2] = shade + 40;
          }
        }
      }
      x += word + 8;
    }
  }
  return sharp(pixels, { raw: { width, height, channels } }).png().toBuffer();
}

/**
 * A "pixel bomb": a tiny PNG file whose header claims a huge canvas. Decoding it would need
 * gigabytes; it must be refused from the header alone.
 */
export async function pixelBombPng(width = 30_000, height = 30_000): Promise<Buffer> {
  const base = await solidPng(1, 1);
  // Rewrite the IHDR width/height and fix its CRC; the rest of the (tiny) file stays as is.
  const out = Buffer.from(base);
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

/** The first part of a valid image: a truncated upload. */
export const truncated = (bytes: Buffer, fraction = 0.6) =>
  bytes.subarray(0, Math.floor(bytes.length * fraction));

/** Random pixels: a PNG that barely compresses, about width × height × 3 bytes, for size limits. */
export function noisePng(width = 100, height = 100, seed = 1): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < pixels.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    pixels[i] = state & 0xff;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/**
 * A single-colour GIF of any size, LZW-encoded here in a few milliseconds (sharp takes seconds
 * to encode 100 megapixels). 9999×10000 is about 68 KB: small to send, 400 MB to decode.
 */
export function solidGif(width: number, height: number): Buffer {
  const MIN_CODE_SIZE = 2;
  const CLEAR = 1 << MIN_CODE_SIZE;
  const END = CLEAR + 1;
  const bytes: number[] = [];
  let bitBuffer = 0;
  let bitCount = 0;
  let codeSize = MIN_CODE_SIZE + 1;
  const emit = (code: number) => {
    bitBuffer |= code << bitCount;
    bitCount += codeSize;
    while (bitCount >= 8) {
      bytes.push(bitBuffer & 0xff);
      bitBuffer >>>= 8;
      bitCount -= 8;
    }
  };
  // Every pixel is colour 0, so the dictionary only ever holds runs of zeros: the code for a
  // run of n (n ≥ 2) zeros is `runCodes[n]`, and a run of 1 is the literal 0.
  let next = END + 1;
  let longest = 1;
  let runCodes: number[] = [];
  emit(CLEAR);
  for (let left = width * height; left > 0; ) {
    const run = Math.min(longest, left);
    emit(run === 1 ? 0 : (runCodes[run] as number));
    left -= run;
    if (next < 4096) {
      // The decoder builds its dictionary one code behind, so widths grow once it has caught up.
      if (next >= 1 << codeSize && codeSize < 12) codeSize++;
      if (run === longest) {
        longest = run + 1;
        runCodes[longest] = next;
      }
      next++;
    } else {
      emit(CLEAR);
      codeSize = MIN_CODE_SIZE + 1;
      next = END + 1;
      longest = 1;
      runCodes = [];
    }
  }
  emit(END);
  if (bitCount > 0) bytes.push(bitBuffer & 0xff);

  const header = Buffer.alloc(13 + 12 + 10 + 1);
  header.write('GIF89a', 0, 'latin1');
  header.writeUInt16LE(width, 6);
  header.writeUInt16LE(height, 8);
  header[10] = 0x81; // a global colour table of 4 entries
  Buffer.from([0x33, 0x66, 0x99, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0]).copy(header, 13);
  header[25] = 0x2c; // image descriptor: the whole canvas, no local table
  header.writeUInt16LE(width, 30);
  header.writeUInt16LE(height, 32);
  header[35] = MIN_CODE_SIZE;
  const data = Buffer.from(bytes);
  const blocks: Buffer[] = [header];
  for (let i = 0; i < data.length; i += 255) {
    const block = data.subarray(i, i + 255);
    blocks.push(Buffer.from([block.length]), block);
  }
  blocks.push(Buffer.from([0, 0x3b]));
  return Buffer.concat(blocks);
}

/** What `photoWithMetadata` hides in its EXIF and XMP, for tests that look for leaks. */
export const IDENTIFYING = {
  artist: 'Alice Example',
  copyright: 'Copyright Alice Example',
  serial: 'BODYSERIAL12345',
  owner: 'Camera Owner Alice',
  xmp: 'XMPCREATORALICE',
  /** 35°39'29.1"N 139°44'28.8"E */
  latitude: 35 + 39 / 60 + 29.1 / 3600,
  longitude: 139 + 44 / 60 + 28.8 / 3600,
} as const;

/**
 * A photo as a phone or camera writes it: EXIF with GPS, camera serial, owner and artist names,
 * XMP naming its creator, an sRGB ICC profile, and the given orientation. Gradient pixels, so
 * that a changed pixel shows.
 */
export function photoWithMetadata(
  format: 'jpeg' | 'png' | 'webp',
  options: { orientation?: number; south?: boolean; progressive?: boolean } = {},
): Promise<Buffer> {
  const width = 48;
  const height = 32;
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    pixels[i * 3] = (i * 5) & 0xff;
    pixels[i * 3 + 1] = (i >> 3) & 0xff;
    pixels[i * 3 + 2] = (i * 11) & 0xff;
  }
  const image = sharp(pixels, { raw: { width, height, channels: 3 } })
    .withExif({
      IFD0: {
        Artist: IDENTIFYING.artist,
        Copyright: IDENTIFYING.copyright,
        Make: 'Canon',
        Model: 'EOS Test',
      },
      IFD2: { BodySerialNumber: IDENTIFYING.serial, CameraOwnerName: IDENTIFYING.owner },
      IFD3: {
        GPSLatitudeRef: options.south ? 'S' : 'N',
        GPSLatitude: '35/1 39/1 2910/100',
        GPSLongitudeRef: options.south ? 'W' : 'E',
        GPSLongitude: '139/1 44/1 2880/100',
      },
    })
    .withXmp(
      `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
        `<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="${IDENTIFYING.xmp}"/>` +
        `</rdf:RDF></x:xmpmeta>`,
    )
    .withIccProfile('srgb')
    .withMetadata({ orientation: options.orientation ?? 1 });
  if (format === 'jpeg') return image.jpeg({ progressive: options.progressive ?? false }).toBuffer();
  if (format === 'png') return image.png().toBuffer();
  return image.webp({ lossless: true }).toBuffer();
}

/** A JPEG segment (marker and payload), for splicing into a file after its SOI. */
export function jpegSegment(marker: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

/** `segments` inserted right after the SOI of `jpeg`, and `trailer` after its end. */
export function withJpegSegments(
  jpeg: Buffer,
  segments: Buffer[],
  trailer: Buffer = Buffer.alloc(0),
): Buffer {
  return Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2), trailer]);
}

/** A PNG chunk with its CRC. */
export const pngChunk = (type: string, data: Buffer | string) =>
  makePngChunk(type, typeof data === 'string' ? Buffer.from(data, 'latin1') : data);

/** `chunks` inserted right after the IHDR of `png`. */
export function withPngChunks(png: Buffer, chunks: Buffer[], trailer: Buffer = Buffer.alloc(0)): Buffer {
  const afterIhdr = 8 + 12 + png.readUInt32BE(8);
  return Buffer.concat([png.subarray(0, afterIhdr), ...chunks, png.subarray(afterIhdr), trailer]);
}

/** A GIF extension block: introducer, label, the data in sub-blocks of at most 255 bytes, terminator. */
export function gifExtension(label: number, ...blocks: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0x21, label])];
  for (const block of blocks) {
    for (let i = 0; i < block.length; i += 255) {
      const part = block.subarray(i, i + 255);
      parts.push(Buffer.from([part.length]), part);
    }
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** An animated GIF carrying a comment and an XMP application block after its header, and bytes after its end. */
export async function gifWithMetadata(): Promise<Buffer> {
  const gif = await animatedGif();
  const packed = gif[10] as number;
  const afterHeader = 13 + (packed & 0x80 ? 3 << ((packed & 7) + 1) : 0);
  const comment = gifExtension(0xfe, Buffer.from(`made by ${IDENTIFYING.artist}`, 'latin1'));
  const xmp = gifExtension(
    0xff,
    Buffer.from('XMP DataXMP', 'latin1'),
    Buffer.from(IDENTIFYING.xmp, 'latin1'),
  );
  return Buffer.concat([
    gif.subarray(0, afterHeader),
    comment,
    xmp,
    gif.subarray(afterHeader),
    Buffer.from('TRAILER-ALICE'),
  ]);
}

/**
 * A PNG whose chunks and CRCs are all in order (so the upload's structure check takes it) but
 * whose compressed pixels are garbage: only a full decode finds out.
 */
export async function undecodablePng(width = 120, height = 90): Promise<Buffer> {
  const bytes = Buffer.from(await solidPng(width, height));
  const idat = bytes.indexOf('IDAT');
  const length = bytes.readUInt32BE(idat - 4);
  for (let i = idat + 4; i < idat + 4 + length; i++) bytes[i] = (i * 151) & 0xff;
  bytes.writeUInt32BE(crc32(bytes.subarray(idat, idat + 4 + length)), idat + 4 + length);
  return bytes;
}
