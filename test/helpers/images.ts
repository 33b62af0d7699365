import sharp from 'sharp';

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

export function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
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
