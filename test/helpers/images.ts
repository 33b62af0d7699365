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

function crc32(bytes: Buffer): number {
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
